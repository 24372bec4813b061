// Shared set-up for the ai-proxy tests: a local gateway with the ai-proxy filter in front of
// one upstream (a provider simulator or a scripted server), and small JSON/SSE helpers.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { filter, startGateway, type RunningGateway } from "./support/gateway.ts";
import { send, type Reply, type SendOptions } from "./support/client.ts";

const ROOT = resolve(import.meta.dirname, "..");

/** Builds build/ai-proxy.wasm (skipped by the build script when up to date). */
export function buildAiProxy(): void {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "ai-proxy"], { cwd: ROOT, stdio: "pipe" });
}

export interface ProxyOptions {
  env?: Record<string, string>;
  /** Access-log JSON fields (Envoy json_format); the log file path is returned as `logFile`. */
  accessLog?: Record<string, string>;
  /** log_format.formatters for the access log (name → typed_config @type). */
  accessLogFormatters?: Record<string, string>;
  bufferLimit?: number;
  timeout?: string;
  /** ai-metrics after ai-proxy (its series in /stats). */
  metrics?: boolean;
}

export interface ProxyGateway extends RunningGateway {
  logFile: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Reply>;
  send(o: SendOptions): Promise<Reply>;
  /** ERROR/WARN log lines of the gateway. */
  errors(): string[];
}

/** A gateway whose only route sends everything, through ai-proxy, to the upstream on `port`. */
export async function proxyGateway(config: unknown, port: number, o: ProxyOptions = {}): Promise<ProxyGateway> {
  const logFile = join(mkdtempSync(join(tmpdir(), "aiproxy-")), "access.log");
  const gw = await startGateway({
    filters: [{ name: "ai-proxy", code: filter("ai-proxy"), config, env: o.env }, ...(o.metrics ? [{ name: "ai-metrics", code: filter("ai-metrics"), config: "" }] : [])],
    routes: [{ prefix: "/", cluster: "upstream", timeout: o.timeout }],
    clusters: { upstream: { port } },
    bufferLimit: o.bufferLimit,
    accessLog: o.accessLog ? { path: logFile, json: o.accessLog, formatters: o.accessLogFormatters } : undefined,
  });
  return {
    ...gw,
    logFile,
    post: (path, body, headers = {}) =>
      send(gw.url, { method: "POST", path, headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) }),
    send: (so) => send(gw.url, so),
    errors: () => gw.logs.filter((l) => l.level >= 3).map((l) => l.message),
  };
}

/** Runs `fn` against a fresh proxyGateway in front of `port`, and closes it whatever happens. */
export async function withProxyGateway<T>(config: unknown, port: number, fn: (g: ProxyGateway) => Promise<T>, o: ProxyOptions = {}): Promise<T> {
  const g = await proxyGateway(config, port, o);
  try {
    return await fn(g);
  } finally {
    await g.close();
  }
}

/** The access-log lines written so far, parsed. */
export function accessLog(g: ProxyGateway): Record<string, unknown>[] {
  let text = "";
  try {
    text = readFileSync(g.logFile, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The `data:` payloads of an SSE body, in order. */
export function sseData(body: string): string[] {
  return body
    .replace(/\r\n?/g, "\n")
    .split("\n\n")
    .map((ev) =>
      ev
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, ""))
        .join("\n"),
    )
    .filter((d) => d.length > 0);
}

/** The parsed JSON chunks of an SSE body (without [DONE]). */
export function sseChunks(body: string): Record<string, unknown>[] {
  return sseData(body)
    .filter((d) => d !== "[DONE]")
    .map((d) => JSON.parse(d) as Record<string, unknown>);
}

/** The concatenated delta content of chat chunks. */
export function streamedText(body: string): string {
  return sseChunks(body)
    .map((c) => {
      const ch = (c.choices as { delta?: { content?: string | null }; text?: string }[] | undefined)?.[0];
      return ch?.delta?.content ?? ch?.text ?? "";
    })
    .join("");
}

export function json(r: Reply): Record<string, unknown> {
  return JSON.parse(r.body) as Record<string, unknown>;
}

export function errorOf(r: Reply): { message: string; type: string; code: unknown } {
  return (json(r).error ?? {}) as { message: string; type: string; code: unknown };
}

/** Waits until the access log has at least `n` lines (it is written after the response ends). */
export async function waitForLog(g: ProxyGateway, n = 1): Promise<Record<string, unknown>[]> {
  for (let i = 0; i < 200; i++) {
    const lines = accessLog(g);
    if (lines.length >= n) return lines;
    await new Promise((r) => setTimeout(r, 10));
  }
  return accessLog(g);
}
