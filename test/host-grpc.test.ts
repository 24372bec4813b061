// proxy_grpc_call / proxy_grpc_stream as Envoy runs them (source/extensions/common/wasm/
// context.cc: grpcCall, grpcStream, grpcSend, grpcClose, grpcCancel, onGrpcReceiveWrapper,
// onGrpcCloseWrapper; proxy-wasm-cpp-host include/proxy-wasm/wasm.h nextGrpcCallId /
// nextGrpcStreamId, src/exports.cc: the call is made on the root context), against a real
// gRPC server (@grpc/grpc-js) on an HTTP/2 cluster:
//  - a call that succeeds gets one proxy_on_grpc_receive and no close; one that fails gets one
//    proxy_on_grpc_close with the status, its message through proxy_get_status;
//  - a stream gets initial metadata, each message, trailing metadata, then close;
//  - timeouts are the router's 504 turned UNAVAILABLE (source/common/grpc/status.cc);
//  - cancel is silent; close half-closes a stream; tokens end in 01 (calls) and 10 (streams).
import * as grpc from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startGateway, testFilter, type RunningGateway } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { enters, probeLines, result, until } from "./support/probe.ts";
import { rlsClusterYaml } from "./support/ratelimit-service.ts";

const PROBE = testFilter("probe");
const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: raw.serialize,
  requestDeserialize: raw.deserialize,
  responseSerialize: raw.serialize,
  responseDeserialize: raw.deserialize,
});

let server: grpc.Server;
let port = 0;
let up: TestUpstream;
let gw: RunningGateway | null = null;
const seenMetadata: string[] = [];

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(
    {
      Unary: method("/test.Echo/Unary", false, false),
      Fail: method("/test.Echo/Fail", false, false),
      Slow: method("/test.Echo/Slow", false, false),
      Bidi: method("/test.Echo/Bidi", true, true),
    },
    {
      Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        seenMetadata.push(String(call.metadata.get("x-md")[0] ?? ""));
        cb(null, Buffer.concat([Buffer.from("echo:"), call.request]));
      },
      Fail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.PERMISSION_DENIED, details: "nope" }),
      Slow: () => {},
      Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        const md = new grpc.Metadata();
        md.set("x-init", "a");
        call.sendMetadata(md);
        call.on("data", (b: Buffer) => call.write(Buffer.concat([Buffer.from("echo:"), b])));
        call.on("end", () => {
          const t = new grpc.Metadata();
          t.set("x-trail", "b");
          call.end(t);
        });
      },
    },
  );
  port = await new Promise<number>((res, rej) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  up = await startUpstream();
});
afterAll(async () => {
  server.forceShutdown();
  await up.close();
});
afterEach(async () => {
  await gw?.close();
  gw = null;
});

async function run(script: Record<string, unknown>, http2 = true): Promise<RunningGateway> {
  gw = await startGateway({ filters: [{ name: "probe", code: PROBE, config: script }], clusters: { upstream: { port: up.port } }, extra: rlsClusterYaml("grpc", port, http2) });
  await send(gw.url, { path: "/p" });
  return gw;
}

describe("proxy_grpc_call", () => {
  it("a success: one on_grpc_receive on the root context with the response, no close; metadata reaches the server", async () => {
    const g = await run({
      on_request_headers: [["grpc_call", "grpc", "test.Echo", "Unary", [["x-md", "v1"]], "hello", 2000]],
      on_grpc_receive: [["get_buffer", 5, 0, 100]],
    });
    expect(result(g, "on_request_headers", "grpc_call")).toMatchObject({ status: 0, value: "5" });
    await until(() => enters(g, "on_grpc_receive").length > 0);
    const e = enters(g, "on_grpc_receive")[0]!;
    expect(e.args).toMatchObject({ ctx: "1", token: "5", size: "10" });
    expect(result(g, "on_grpc_receive", "get_buffer").value).toBe("echo:hello");
    expect(seenMetadata).toContain("v1");
    await new Promise((r) => setTimeout(r, 100));
    expect(enters(g, "on_grpc_close")).toHaveLength(0);
    expect(enters(g, "on_grpc_receive_initial_metadata")).toHaveLength(0);
  });

  it("a failure: one on_grpc_close with the status; get_status gives the message", async () => {
    const g = await run({ on_request_headers: [["grpc_call", "grpc", "test.Echo", "Fail", [], "x", 2000]], on_grpc_close: [["get_status"]] });
    await until(() => enters(g, "on_grpc_close").length > 0);
    expect(enters(g, "on_grpc_close")[0]!.args).toMatchObject({ token: "5", status: "7" });
    expect(result(g, "on_grpc_close", "get_status").value).toBe("7 nope");
    expect(enters(g, "on_grpc_receive")).toHaveLength(0);
  });

  it("a timeout is the router's 504: UNAVAILABLE, 'upstream request timeout'", async () => {
    const g = await run({ on_request_headers: [["grpc_call", "grpc", "test.Echo", "Slow", [], "x", 200]], on_grpc_close: [["get_status"]] });
    await until(() => enters(g, "on_grpc_close").length > 0);
    expect(enters(g, "on_grpc_close")[0]!.args.status).toBe("14");
    expect(result(g, "on_grpc_close", "get_status").value).toBe("14 upstream request timeout");
  });

  it("an unknown cluster is PARSE_FAILURE; send on a call token BAD_ARGUMENT; unknown tokens NOT_FOUND", async () => {
    const g = await run({
      on_request_headers: [
        ["grpc_call", "nope", "test.Echo", "Unary", [], "x", 1000],
        ["grpc_stream", "nope", "test.Echo", "Bidi", []],
        ["grpc_send", 5, "x", 0],
        ["grpc_close", 9],
        ["grpc_cancel", 10],
        ["grpc_close", 4],
      ],
    });
    expect(result(g, "on_request_headers", "grpc_call").status).toBe(4);
    expect(result(g, "on_request_headers", "grpc_stream").status).toBe(4);
    expect(result(g, "on_request_headers", "grpc_send").status).toBe(2);
    expect(result(g, "on_request_headers", "grpc_close", 0).status).toBe(1);
    expect(result(g, "on_request_headers", "grpc_cancel").status).toBe(1);
    expect(result(g, "on_request_headers", "grpc_close", 1).status).toBe(2);
  });

  it("cancel: no callback follows, and the token is gone", async () => {
    const g = await run({ on_request_headers: [["grpc_call", "grpc", "test.Echo", "Slow", [], "x", 0], ["grpc_cancel", 5], ["grpc_cancel", 5]] });
    expect(result(g, "on_request_headers", "grpc_cancel", 0).status).toBe(0);
    expect(result(g, "on_request_headers", "grpc_cancel", 1).status).toBe(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(enters(g, "on_grpc_close")).toHaveLength(0);
  });
});

describe("proxy_grpc_stream", () => {
  it("initial metadata, each message, trailing metadata, then close after the half-close", async () => {
    const g = await run({
      on_request_headers: [["grpc_stream", "grpc", "test.Echo", "Bidi", []], ["grpc_send", 6, "a", 0], ["grpc_send", 6, "b", 0], ["grpc_close", 6]],
      on_grpc_receive_initial_metadata: [["get_header", 4, "x-init"]],
      on_grpc_receive: [["get_buffer", 5, 0, 100]],
      on_grpc_receive_trailing_metadata: [["get_header", 5, "x-trail"]],
      on_grpc_close: [["get_status"]],
    });
    expect(result(g, "on_request_headers", "grpc_stream")).toMatchObject({ status: 0, value: "6" });
    await until(() => enters(g, "on_grpc_close").length > 0);
    const order = probeLines(g)
      .filter((l) => l.op === "enter" && l.cb.startsWith("on_grpc"))
      .map((l) => l.cb);
    expect(order).toEqual(["on_grpc_receive_initial_metadata", "on_grpc_receive", "on_grpc_receive", "on_grpc_receive_trailing_metadata", "on_grpc_close"]);
    expect(result(g, "on_grpc_receive_initial_metadata", "get_header").value).toBe("a");
    expect([result(g, "on_grpc_receive", "get_buffer", 0).value, result(g, "on_grpc_receive", "get_buffer", 1).value]).toEqual(["echo:a", "echo:b"]);
    expect(result(g, "on_grpc_receive_trailing_metadata", "get_header").value).toBe("b");
    expect(enters(g, "on_grpc_close")[0]!.args.status).toBe("0");
  });

  it("a cluster without HTTP/2 fails the call (UNAVAILABLE)", async () => {
    const g = await run({ on_request_headers: [["grpc_call", "grpc", "test.Echo", "Unary", [], "x", 1000]] }, false);
    await until(() => enters(g, "on_grpc_close").length > 0);
    expect(enters(g, "on_grpc_close")[0]!.args.status).toBe("14");
  });
});
