// The client behind proxy_grpc_call / proxy_grpc_stream: Envoy's gRPC async client
// (source/common/grpc/async_client_impl.cc, the `envoy_grpc` kind on the named cluster) with
// @grpc/grpc-js as the HTTP/2 transport. Messages cross as raw bytes: the filter serializes
// and parses its own protobuf, as with Envoy's sendRaw/startRaw.
//
// Failures reach the caller as gRPC statuses the way Envoy produces them: the router's local
// replies on the async stream (connect failure 503, timeout 504) are turned into grpc-status by
// Grpc::Utility::httpToGrpcStatus (source/common/grpc/status.cc: 503/504 → UNAVAILABLE 14), with
// the reply body as the message.

import * as grpc from "@grpc/grpc-js";
import type { Cluster } from "../envoy/bootstrap-types.ts";
import type { GrpcCallHandlers, GrpcStreamHandle } from "../proxy/vm-services.ts";

export const GrpcStatus = { Ok: 0, Canceled: 1, Unknown: 2, DeadlineExceeded: 4, Internal: 13, Unavailable: 14 } as const;

const clients = new Map<string, grpc.Client>();

function clientFor(cluster: Cluster): grpc.Client {
  const ep = cluster.endpoints[0]!;
  const target = `${ep.address.includes(":") ? `[${ep.address}]` : ep.address}:${ep.port}`;
  const key = `${cluster.name}|${target}|${cluster.tls ? "tls" : "plain"}`;
  let c = clients.get(key);
  if (!c) {
    const creds = cluster.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    c = new grpc.Client(target, creds, { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1000 });
    clients.set(key, c);
  }
  return c;
}

/** Closes every cached channel (gateway shutdown). */
export function closeGrpcClients(): void {
  for (const c of clients.values()) c.close();
  clients.clear();
}

function pairsOf(md: grpc.Metadata | undefined): [string, string][] {
  if (!md) return [];
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(md.getMap())) out.push([k, typeof v === "string" ? v : Buffer.from(v).toString("base64")]);
  return out;
}

function metadataOf(pairs: [string, string][]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) {
    const key = k.toLowerCase();
    // Pseudo-headers and connection headers belong to the transport.
    if (key.startsWith(":") || key === "content-type" || key === "te" || key === "grpc-timeout") continue;
    try {
      if (key.endsWith("-bin")) md.add(key, Buffer.from(v, "base64"));
      else md.add(key, v);
    } catch {
      // grpc-js refuses keys with characters HTTP/2 cannot carry; Envoy would reset the stream.
    }
  }
  return md;
}

/** Envoy's status for what the transport reports (see the file comment). */
function envoyStatus(e: grpc.ServiceError | grpc.StatusObject, timedOut: boolean): { code: number; message: string } {
  if (timedOut) return { code: GrpcStatus.Unavailable, message: "upstream request timeout" };
  if (e.code === grpc.status.UNAVAILABLE && /ECONNREFUSED|connect|No connection established/i.test(e.details)) {
    return { code: GrpcStatus.Unavailable, message: "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure" };
  }
  return { code: e.code, message: e.details };
}

const identity = (b: Buffer): Buffer => b;

/**
 * Starts a call (`unary`: one message, then the response) or a stream on the cluster.
 * `timeoutMs` 0: none. Returns the handle; handlers fire asynchronously, never inside this call.
 */
export function startGrpc(
  cluster: Cluster,
  service: string,
  method: string,
  initialMetadata: [string, string][],
  timeoutMs: number,
  handlers: GrpcCallHandlers,
  unaryMessage: Uint8Array | null,
): GrpcStreamHandle {
  const client = clientFor(cluster);
  const path = `/${service}/${method}`;
  const options: grpc.CallOptions = {};
  let timedOut = false;
  let timer: NodeJS.Timeout | null = null;
  let done = false;
  const md = metadataOf(initialMetadata);
  const call = client.makeBidiStreamRequest(path, identity, identity, md, options);
  const finish = (status: number, message: string): void => {
    if (done) return;
    done = true;
    if (timer) clearTimeout(timer);
    handlers.onClose(status, message);
  };
  if (timeoutMs > 0) {
    // Envoy's router timeout on the async stream (not a grpc-timeout header).
    timer = setTimeout(() => {
      timedOut = true;
      call.cancel();
    }, timeoutMs);
  }
  call.on("metadata", (m: grpc.Metadata) => {
    if (!done) handlers.onInitialMetadata(pairsOf(m));
  });
  call.on("data", (b: Buffer) => {
    if (!done) handlers.onMessage(b);
  });
  call.on("status", (s: grpc.StatusObject) => {
    if (done) return;
    if (s.code === grpc.status.OK) {
      handlers.onTrailingMetadata(pairsOf(s.metadata));
      finish(GrpcStatus.Ok, s.details ?? "");
    } else if (s.code === grpc.status.CANCELLED && !timedOut) {
      done = true; // our own cancel: no callback
      if (timer) clearTimeout(timer);
    } else {
      const e = envoyStatus(s, timedOut);
      finish(e.code, e.message);
    }
  });
  call.on("error", () => {
    // The status event carries the details; grpc-js emits both.
  });
  if (unaryMessage !== null) {
    call.write(Buffer.from(unaryMessage.buffer, unaryMessage.byteOffset, unaryMessage.byteLength));
    call.end();
  }
  return {
    send: (m, end) => {
      if (done) return;
      call.write(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
      if (end) call.end();
    },
    close: () => {
      if (!done) call.end();
    },
    cancel: () => {
      if (done) return;
      done = true;
      if (timer) clearTimeout(timer);
      call.cancel();
    },
  };
}
