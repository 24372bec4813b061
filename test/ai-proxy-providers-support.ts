// Shared by test/ai-proxy-providers-*.test.ts: the llm-providers test module (lib/llm's
// providers called directly, no host), recorded-stream helpers, and a gateway laid out like
// the shipped config in front of one provider simulator.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { startAiGateway, type RouteKind } from "./support/ai-gateway.ts";
import type { RunningGateway } from "./support/gateway.ts";

const ROOT = resolve(import.meta.dirname, "..");
const WASM = resolve(ROOT, "build/test/llm-providers.wasm");

interface Exports {
  memory: WebAssembly.Memory;
  _start(): void;
  inputBuffer(len: number): number;
  outputPtr(): number;
  outputLen(): number;
  configure(): number;
  request(): number;
  response(): number;
  errorReply(status: number): number;
  streamStart(): number;
  streamPush(eos: number): number;
  streamState(): number;
  responseState(): number;
  reportsUsage(): number;
  redactAdd(reset: number): number;
  redactPush(eos: number): number;
  redactWhole(): number;
  redactString(reuse: number): number;
  configureProxy(): number;
  checkRequest(fast: number): number;
}

let mod: WebAssembly.Module | null = null;

/** Builds build/test/llm-providers.wasm and build/ai-proxy.wasm (skipped when up to date). */
export function buildModules(): void {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "llm-providers", "ai-proxy"], { cwd: ROOT, stdio: "pipe" });
  mod = new WebAssembly.Module(readFileSync(WASM));
}

export type Json = Record<string, unknown>;

export interface Outcome<T> {
  ok: boolean;
  /** The output bytes as text (the body on success, the message on failure). */
  text: string;
  value: T;
}

export interface StreamState {
  usage: [number, number, number];
  model: string;
  finished: boolean;
  failed: boolean;
  text: string;
}

const enc = new TextEncoder();

/** One instance of the module: configure a provider, then translate requests, responses, errors and streams. */
export class Lab {
  private x: Exports;

  constructor() {
    if (!mod) throw new Error("buildModules() first");
    // Stub every WASI import the module declares (clock, random, fd_write, proc_exit).
    const wasi: Record<string, (...a: number[]) => number> = {};
    for (const imp of WebAssembly.Module.imports(mod)) {
      if (imp.module !== "wasi_snapshot_preview1") continue;
      wasi[imp.name] =
        imp.name === "random_get"
          ? (ptr: number, len: number) => {
              new Uint8Array(this.x.memory.buffer, ptr, len).set(Uint8Array.from({ length: len }, (_, i) => (i * 37 + 11) & 255));
              return 0;
            }
          : imp.name === "proc_exit"
            ? (code: number) => {
                throw new Error(`wasm proc_exit(${code}): the module aborted`);
              }
            : () => 0;
    }
    const inst = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: wasi });
    this.x = inst.exports as unknown as Exports;
    this.x._start();
  }

  private put(data: string | Uint8Array): void {
    const bytes = typeof data === "string" ? enc.encode(data) : data;
    const p = this.x.inputBuffer(bytes.length);
    new Uint8Array(this.x.memory.buffer, p, bytes.length).set(bytes);
  }

  private out(): string {
    return Buffer.from(new Uint8Array(this.x.memory.buffer, this.x.outputPtr(), this.x.outputLen())).toString("utf8");
  }

  private parse<T>(ok: boolean): Outcome<T> {
    const text = this.out();
    let value = undefined as unknown as T;
    if (ok) value = JSON.parse(text) as T;
    return { ok, text, value };
  }

  configure(routeType: string, model: Json): Outcome<{ authority: string; path: string; query: [string, string][]; headers: [string, string][] }> {
    this.put(JSON.stringify({ route_type: routeType, model }));
    return this.parse(this.x.configure() === 1);
  }

  /** An ai-proxy configuration for checkRequest; throws with the reason when refused. */
  configureProxy(config: Json): void {
    this.put(JSON.stringify(config));
    if (this.x.configureProxy() !== 1) throw new Error(this.out());
  }

  /**
   * ai-proxy's validation and translation of a client body (fast: the one-walk scan first, else
   * the slow path only): whether the scan accepted it, and what the filter takes from it.
   */
  checkRequest(body: string | Uint8Array, fast: boolean): { accepted: boolean; text: string } {
    this.put(body);
    const accepted = this.x.checkRequest(fast ? 1 : 0) === 1;
    return { accepted, text: this.out() };
  }

  /** The upstream body for a client body (object, or raw text). */
  request(body: Json | string): Outcome<Json> {
    this.put(typeof body === "string" ? body : JSON.stringify(body));
    return this.parse(this.x.request() === 1);
  }

  /** The OpenAI body for a 200 upstream body (not parsed: it may be anything on failure). */
  response(body: Json | unknown[] | string | Uint8Array): Outcome<Json> {
    this.put(typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body));
    return this.parse(this.x.response() === 1);
  }

  responseState(): { usage: [number, number, number]; model: string } {
    this.x.responseState();
    return JSON.parse(this.out()) as { usage: [number, number, number]; model: string };
  }

  error(status: number, body: string | Uint8Array): { error: { message: string; type: string; code: unknown } } {
    this.put(body);
    this.x.errorReply(status);
    return JSON.parse(this.out()) as { error: { message: string; type: string; code: unknown } };
  }

  /** Feeds the chunks to a new stream translator (eos on the last) and returns everything written. */
  stream(chunks: (string | Uint8Array)[]): string {
    this.x.streamStart();
    const parts: Buffer[] = [];
    chunks.forEach((c, i) => {
      this.put(c);
      this.x.streamPush(i === chunks.length - 1 ? 1 : 0);
      parts.push(Buffer.from(new Uint8Array(this.x.memory.buffer, this.x.outputPtr(), this.x.outputLen())));
    });
    return Buffer.concat(parts).toString("utf8");
  }

  streamState(): StreamState {
    this.x.streamState();
    return JSON.parse(this.out()) as StreamState;
  }

  reportsUsage(): boolean {
    return this.x.reportsUsage() === 1;
  }

  /** A fresh secret set (lib/llm/redact.ts) holding `secrets` and their wire forms; returns the pattern count. */
  redactWith(secrets: string[]): number {
    let n = 0;
    secrets.forEach((s, i) => {
      this.put(s);
      n = this.x.redactAdd(i === 0 ? 1 : 0);
    });
    return n;
  }

  /** Adds `secret` (and its wire forms) to the current set; returns the pattern count. */
  redactAlso(secret: string): number {
    this.put(secret);
    return this.x.redactAdd(0);
  }

  /** Feeds chunks through one StreamRedactor (eos on the last); returns each output and the bytes held after it. */
  redactStream(chunks: (string | Uint8Array)[]): { out: Buffer[]; held: number[] } {
    const out: Buffer[] = [];
    const held: number[] = [];
    chunks.forEach((c, i) => {
      this.put(c);
      held.push(this.x.redactPush(i === chunks.length - 1 ? 1 : 0));
      out.push(Buffer.from(new Uint8Array(this.x.memory.buffer, this.x.outputPtr(), this.x.outputLen())));
    });
    return { out, held };
  }

  redactWhole(body: string | Uint8Array): string {
    this.put(body);
    this.x.redactWhole();
    return this.out();
  }

  /** Secrets#maskString of `s`, or (null) again of the same string object as the last call. */
  redactString(s: string | null): string {
    if (s !== null) this.put(s);
    this.x.redactString(s === null ? 1 : 0);
    return this.out();
  }
}

// ---------------------------------------------------------------------------------------
// Client-side view of an OpenAI SSE body

/** The `data:` payloads of an SSE body, in order. */
export function sseData(body: string): string[] {
  return body
    .split("\n\n")
    .map((ev) =>
      ev
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n"),
    )
    .filter((d) => d.length > 0);
}

export interface Collected {
  chunks: Json[];
  text: string;
  finish: string | null;
  usage: Json | null;
  toolCalls: { id: string; name: string; arguments: string }[];
  done: boolean;
  errors: Json[];
  /** Roles announced in deltas. */
  roles: string[];
}

/** Assembles an OpenAI chunk stream the way an SDK does. */
export function collect(body: string): Collected {
  const r: Collected = { chunks: [], text: "", finish: null, usage: null, toolCalls: [], done: false, errors: [], roles: [] };
  for (const d of sseData(body)) {
    if (d === "[DONE]") {
      r.done = true;
      continue;
    }
    const c = JSON.parse(d) as Json;
    if (c.error) {
      r.errors.push(c.error as Json);
      continue;
    }
    r.chunks.push(c);
    if (c.usage) r.usage = c.usage as Json;
    const ch = (c.choices as Json[] | undefined)?.[0];
    if (!ch) continue;
    if (typeof ch.finish_reason === "string") r.finish = ch.finish_reason;
    if (typeof ch.text === "string") r.text += ch.text;
    const delta = ch.delta as Json | undefined;
    if (!delta) continue;
    if (typeof delta.role === "string") r.roles.push(delta.role);
    if (typeof delta.content === "string") r.text += delta.content;
    for (const tc of (delta.tool_calls as Json[] | undefined) ?? []) {
      const i = tc.index as number;
      const fn = (tc.function ?? {}) as Json;
      r.toolCalls[i] ??= { id: "", name: "", arguments: "" };
      if (typeof tc.id === "string") r.toolCalls[i].id = tc.id;
      if (typeof fn.name === "string") r.toolCalls[i].name += fn.name;
      if (typeof fn.arguments === "string") r.toolCalls[i].arguments += fn.arguments;
    }
  }
  return r;
}

/** A recorded upstream stream from test/fixtures/streams and what it should yield. */
export function fixture(name: string): { bytes: Uint8Array; expected: Json } {
  const dir = resolve(ROOT, "test/fixtures/streams");
  return {
    bytes: new Uint8Array(readFileSync(resolve(dir, `${name}.txt`))),
    expected: JSON.parse(readFileSync(resolve(dir, `${name}.json`), "utf8")) as Json,
  };
}

/** Checks that splitting `bytes` at every offset (and feeding one byte at a time) gives `whole`. */
export function splitMismatches(lab: Lab, bytes: Uint8Array, whole: string): number[] {
  const bad: number[] = [];
  for (let k = 1; k < bytes.length; k++) {
    const out = lab.stream([bytes.subarray(0, k), bytes.subarray(k)]);
    if (out !== whole) bad.push(k);
  }
  const single = lab.stream(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)));
  if (single !== whole) bad.push(-1);
  return bad;
}

// ---------------------------------------------------------------------------------------
// Gateway

/** A gateway like the shipped one, one ai-proxy instance per route kind, in front of a simulator. */
export function providerGateway(simPort: number, hosts: string[], config: (kind: RouteKind) => Json, kinds: RouteKind[] = ["chat", "completions", "embeddings"]): Promise<RunningGateway> {
  // The provider virtual host needs a domain; self-hosted upstreams (upstream_url) fall to the client host's "/" route.
  return startAiGateway({ simulatorPort: simPort, providerHosts: hosts.length > 0 ? hosts : ["self-hosted.invalid"], kinds, config });
}
