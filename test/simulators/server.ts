// Shared plumbing for the provider simulators: a loopback HTTP server that records every
// request, honours forced failures, and writes streamed replies in paced, separate writes
// so a gateway in front of it sees the body arrive across several callbacks.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { misbehave, openAIStreamError, type Misbehavior } from "./misbehave.ts";

export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON when the body parses, else the raw string ("" for no body). */
  body: unknown;
  raw: string;
}

export interface FailOptions {
  /** Answer with an HTML/plain-text body instead of the provider's JSON error. */
  nonJson?: boolean;
  /** Value for a `retry-after` header (added even where the provider does not document one). */
  retryAfter?: string;
}

/** How streamed replies are written: one write per event, `delayMs` apart; `splitWrites` also cuts every event in two writes. */
export interface Pacing {
  delayMs: number;
  splitWrites: boolean;
}

export interface Simulator {
  url: string;
  port: number;
  /** The most recent requests, oldest first: never fewer than the newest RECORD_KEEP. */
  requests: SimRequest[];
  /** Queue one forced error: the next request (whatever its path) gets it instead of a normal answer. */
  failNext(status: number, opts?: FailOptions): void;
  /** Hold the next answer `ms` before sending it (a slow or hung LLM, for timeouts). */
  stallNext(ms: number): void;
  /** Queue one misbehaviour (misbehave.ts): the next request's normal reply is bent, e.g. echoes the key it received. */
  misbehaveNext(m: Misbehavior): void;
  /** Change stream pacing for later requests. */
  setPacing(p: Partial<Pacing>): void;
  close(): Promise<void>;
}

export type Reply =
  | { kind: "json"; status: number; headers?: Record<string, string>; body: unknown; delayMs?: number }
  | { kind: "raw"; status: number; headers?: Record<string, string>; body: string; delayMs?: number }
  | { kind: "stream"; status: number; headers?: Record<string, string>; events: string[]; /** Drop the connection after the events instead of ending the body. */ reset?: boolean };

export interface Provider {
  /** Normal handling: routing, auth, validation, the answer. */
  handle(req: SimRequest): Reply;
  /** The provider's own error for a forced status (failNext without nonJson). */
  forcedError(status: number, req: SimRequest): Reply;
  /** One error event in the provider's stream format (default: OpenAI's `data: {"error":…}`). */
  streamError?(message: string): string;
}

export const DEFAULT_PACING: Pacing = { delayMs: 2, splitWrites: false };

/**
 * How many recent requests a simulator keeps: tests read the last few, while a benchmark
 * sends millions, and a log that grows forever made the simulator's GC pauses land on
 * every target alike. The log is trimmed to the newest RECORD_KEEP once it reaches twice that.
 */
export const RECORD_KEEP = 1000;

const JSON_TYPE = "application/json";

export function json(status: number, body: unknown, headers?: Record<string, string>): Reply {
  return { kind: "json", status, body, headers };
}

/** The body as a JSON object, or null when it is missing, invalid or not an object. */
export function objectBody(req: SimRequest): Record<string, unknown> | null {
  const b = req.body;
  return typeof b === "object" && b !== null && !Array.isArray(b) ? (b as Record<string, unknown>) : null;
}

/** A proxy-style HTML error page, as a CDN or load balancer in front of a provider returns it. */
export function htmlError(status: number): Reply {
  const text = http.STATUS_CODES[status] ?? "Error";
  const body = `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n</body>\r\n</html>\r\n`;
  return { kind: "raw", status, headers: { "content-type": "text/html" }, body };
}

/** Bearer token from an Authorization header, or undefined. */
export function bearer(req: SimRequest): string | undefined {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers["authorization"] ?? "");
  return m ? m[1].trim() : undefined;
}

function headersOf(req: http.IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function parseBody(raw: string): unknown {
  if (raw === "") return "";
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

async function writeStream(res: http.ServerResponse, events: string[], pacing: Pacing, reset = false): Promise<void> {
  for (const ev of events) {
    const parts = pacing.splitWrites && ev.length > 1 ? cutInTwo(ev) : [ev];
    for (const p of parts) {
      if (res.destroyed) return; // the client went away: stop like a real server would
      res.write(p);
      await sleep(pacing.delayMs);
    }
  }
  if (res.destroyed) return;
  if (reset) res.socket?.destroy();
  else res.end();
}

/** Cuts at the middle byte so multi-byte characters can straddle the two writes too. */
function cutInTwo(ev: string): Buffer[] {
  const b = Buffer.from(ev, "utf8");
  const mid = Math.floor(b.length / 2);
  return [b.subarray(0, mid), b.subarray(mid)];
}

function send(res: http.ServerResponse, reply: Reply, pacing: Pacing): Promise<void> {
  if (reply.kind === "stream") {
    res.writeHead(reply.status, reply.headers ?? {});
    return writeStream(res, reply.events, pacing, reply.reset);
  }
  if (reply.delayMs) {
    const { delayMs, ...now } = reply;
    return sleep(delayMs).then(() => (res.destroyed ? undefined : send(res, now, pacing)));
  }
  const body = reply.kind === "json" ? JSON.stringify(reply.body) : reply.body;
  const headers: Record<string, string> = { "content-type": JSON_TYPE, ...(reply.headers ?? {}) };
  headers["content-length"] = String(Buffer.byteLength(body));
  res.writeHead(reply.status, headers);
  res.end(body);
  return Promise.resolve();
}

export async function startSimulator(provider: Provider, pacing: Partial<Pacing> = {}): Promise<Simulator> {
  const requests: SimRequest[] = [];
  const failures: { status: number; opts: FailOptions }[] = [];
  const stalls: number[] = [];
  const misbehaviors: Misbehavior[] = [];
  let pace: Pacing = { ...DEFAULT_PACING, ...pacing };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url ?? "/", "http://sim");
      const sr: SimRequest = {
        method: req.method ?? "",
        path: url.pathname,
        query: url.searchParams,
        headers: headersOf(req),
        body: parseBody(raw),
        raw,
      };
      requests.push(sr);
      if (requests.length >= 2 * RECORD_KEEP) requests.splice(0, requests.length - RECORD_KEEP);
      let reply: Reply;
      const forced = failures.shift();
      if (forced) {
        reply = forced.opts.nonJson ? htmlError(forced.status) : provider.forcedError(forced.status, sr);
        if (forced.opts.retryAfter !== undefined) reply.headers = { ...(reply.headers ?? {}), "retry-after": forced.opts.retryAfter };
      } else {
        reply = provider.handle(sr);
        const m = misbehaviors.shift();
        if (m) reply = misbehave(m, sr, reply, provider.streamError ?? openAIStreamError);
      }
      const stall = stalls.shift() ?? 0;
      const go = (): void => void send(res, reply, pace).catch(() => res.destroy());
      if (stall > 0) {
        const t = setTimeout(go, stall);
        res.on("close", () => clearTimeout(t));
      } else go();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    failNext: (status, opts = {}) => void failures.push({ status, opts }),
    stallNext: (ms) => void stalls.push(ms),
    misbehaveNext: (m) => void misbehaviors.push(m),
    setPacing: (p) => void (pace = { ...pace, ...p }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
