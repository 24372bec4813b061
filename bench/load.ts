// A closed-loop load generator: N connections, each sends its next request as soon as the
// previous answer has been read, until a duration or a request count is reached (whichever
// comes first). It always stops by itself (a hard time cap and per-request timeouts) and only
// talks to loopback addresses.
//
// Runs go to wrk when it is installed (bench/wrk.ts), else to the Node client below.
// BENCH_LOADGEN=node forces the Node client; a run with a request count always uses it.

import { Pool } from "undici";
import { runWrk, wrkVersion } from "./wrk.ts";

export interface LoadOptions {
  /** Origin on loopback, e.g. "http://127.0.0.1:10000". */
  origin: string;
  path?: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string | Buffer;
  connections: number;
  /** Stop after this long (ms). Default 10 s when `requests` is not given either. */
  durationMs?: number;
  /** Stop after this many completed requests. */
  requests?: number;
  /** Requests run first and left out of the numbers (connection set-up, JIT). Default 0. */
  warmupRequests?: number;
  /**
   * Before measuring, load the target for this long (ms) with 8 connections and drop the numbers.
   * A Node server needs thousands of requests before V8 has optimized its hot paths (measured: the
   * local gateway and Portkey both double their 1-connection throughput over the first ~6 s), so a
   * short warm-up would compare JIT states rather than gateways. Default 0.
   */
  warmupMs?: number;
  /** A response with another status counts as an error. Default: any 2xx is fine. (wrk: any 2xx or 3xx.) */
  expectStatus?: number;
  /** Called when the warm-ups are over and the measured run starts (e.g. to read the target's CPU time). */
  onMeasureStart?: () => void;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Whatever the options say, a run never lasts longer than this. */
const HARD_CAP_MS = 120_000;
const REQUEST_TIMEOUT_MS = 10_000;

function assertLoopback(origin: string): void {
  const host = new URL(origin).hostname.replace(/^\[|\]$/g, "");
  if (host !== "127.0.0.1" && host !== "::1" && host !== "localhost") {
    throw new Error(`load: refusing to send load to ${host}; loopback only`);
  }
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length); // nearest rank
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

let generator: string | undefined;

/** The load generator runLoad uses for timed runs, e.g. "wrk 4.1.0" or "Node (undici)". */
export function loadGenerator(): string {
  if (generator === undefined) {
    const forced = process.env.BENCH_LOADGEN;
    if (forced !== undefined && forced !== "wrk" && forced !== "node") throw new Error(`BENCH_LOADGEN must be wrk or node, not ${forced}`);
    const version = forced === "node" ? null : wrkVersion();
    if (forced === "wrk" && version === null) throw new Error("BENCH_LOADGEN=wrk but wrk is not installed: run scripts/install-test-servers.sh --bench");
    generator = version === null ? "Node (undici)" : `wrk ${version}`;
  }
  return generator;
}

async function runLoadWrk(opts: LoadOptions): Promise<LoadResult> {
  const run = (connections: number, ms: number) =>
    runWrk({
      url: opts.origin + (opts.path ?? "/"),
      method: opts.method ?? "GET",
      headers: opts.headers ?? {},
      body: opts.body,
      connections,
      seconds: Math.max(1, Math.round(ms / 1000)),
      timeoutSeconds: REQUEST_TIMEOUT_MS / 1000,
    });
  if ((opts.warmupMs ?? 0) > 0) await run(8, opts.warmupMs!);
  // wrk has no request count: warm-up requests become one discarded second.
  if ((opts.warmupRequests ?? 0) > 0) await run(opts.connections, 1000);
  opts.onMeasureStart?.();
  const r = await run(opts.connections, Math.min(opts.durationMs ?? 10_000, HARD_CAP_MS));
  return { requests: r.requests, rps: r.durationUs > 0 ? r.requests / (r.durationUs / 1e6) : 0, p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000, errors: r.errors };
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  assertLoopback(opts.origin);
  if (!(opts.connections >= 1)) throw new Error("load: connections must be at least 1");
  if (opts.requests === undefined && loadGenerator().startsWith("wrk")) return runLoadWrk(opts);
  if ((opts.warmupMs ?? 0) > 0) {
    await runLoad({ ...opts, connections: 8, durationMs: opts.warmupMs, requests: undefined, warmupMs: 0, warmupRequests: 0 });
  }
  const durationMs = Math.min(opts.durationMs ?? (opts.requests === undefined ? 10_000 : HARD_CAP_MS), HARD_CAP_MS);
  const limit = opts.requests ?? Number.POSITIVE_INFINITY;
  const pool = new Pool(opts.origin, {
    connections: opts.connections,
    pipelining: 1,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const once = async (): Promise<boolean> => {
    try {
      const res = await pool.request({ path: opts.path ?? "/", method: opts.method ?? "GET", headers: opts.headers, body: opts.body });
      await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
      return opts.expectStatus === undefined ? res.statusCode >= 200 && res.statusCode < 300 : res.statusCode === opts.expectStatus;
    } catch {
      return false;
    }
  };

  try {
    for (let i = 0; i < (opts.warmupRequests ?? 0); i++) await once();
    opts.onMeasureStart?.();

    let latencies = new Float64Array(1024);
    let done = 0;
    let started = 0;
    let errors = 0;
    const t0 = process.hrtime.bigint();
    const deadline = t0 + BigInt(durationMs) * 1_000_000n;
    const worker = async (): Promise<void> => {
      while (started < limit && process.hrtime.bigint() < deadline) {
        started++;
        const s = process.hrtime.bigint();
        const ok = await once();
        const ms = Number(process.hrtime.bigint() - s) / 1e6;
        if (done === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[done++] = ms;
        if (!ok) errors++;
      }
    };
    await Promise.all(Array.from({ length: opts.connections }, worker));
    const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
    const sorted = latencies.slice(0, done).sort();
    return {
      requests: done,
      rps: elapsedS > 0 ? done / elapsedS : 0,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      errors,
    };
  } finally {
    await pool.destroy();
  }
}
