// lib/llm's building blocks compiled to wasm on their own (lib/llm/testing/check.ts) and
// compared with reference implementations in JS on generated input: the SSE parser and the
// NDJSON splitter under random splits and line endings, the JSON string and number writer
// against JSON.parse, and the top-level member scanner against JSON.parse.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");

interface Check {
  memory: WebAssembly.Memory;
  _start(): void;
  inputBuffer(len: number): number;
  outputPtr(): number;
  outputLen(): number;
  reset(max: number): void;
  sseFeed(len: number): void;
  sseFinish(): void;
  linesFeed(len: number): void;
  linesFinish(): void;
  jsonString(len: number): void;
  jsonNumber(len: number): void;
  scan(len: number): void;
}

let mod: WebAssembly.Module;
beforeAll(() => {
  const out = join(mkdtempSync(join(tmpdir(), "llm-check-")), "check.wasm");
  // asc resolves asconfig.json's "extends" from a relative --config path (see scripts/build.mjs).
  const script = `const { default: asc } = await import("assemblyscript/asc");
const { error, stderr } = await asc.main(["lib/llm/testing/check.ts", "--config", "asconfig.json", "--outFile", ${JSON.stringify(out)}], {});
if (error) { console.error(stderr.toString()); process.exit(1); }`;
  execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, stdio: "pipe" });
  mod = new WebAssembly.Module(readFileSync(out));
}, 180_000);

function instance(): Check {
  const inst = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: { fd_write: () => 0, proc_exit: () => {} } });
  const x = inst.exports as unknown as Check;
  x._start();
  return x;
}

function call(x: Check, f: (len: number) => void, bytes: Uint8Array): unknown {
  const p = x.inputBuffer(bytes.length);
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
  f(bytes.length);
  return JSON.parse(Buffer.from(new Uint8Array(x.memory.buffer, x.outputPtr(), x.outputLen())).toString("utf8"));
}

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function splits(bytes: Uint8Array, r: () => number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  while (i < bytes.length) {
    const n = 1 + Math.floor(r() * 12);
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

interface Ev {
  event: string;
  data: string;
  id: string;
}

/** Reference SSE parser (WHATWG event-stream rules; the last event is flushed at the end, as the gateway does). */
function referenceSse(text: string): Ev[] {
  const out: Ev[] = [];
  let data: string[] | null = null;
  let event = "";
  let id = "";
  const lines = text.split(/\r\n|\r|\n/);
  const complete = /[\r\n]$/.test(text);
  if (complete) lines.pop();
  for (const line of lines) {
    if (line === "") {
      if (data) out.push({ event, data: data.join("\n"), id });
      data = null;
      event = "";
      continue;
    }
    if (line.startsWith(":")) continue;
    const c = line.indexOf(":");
    const name = c < 0 ? line : line.slice(0, c);
    let value = c < 0 ? "" : line.slice(c + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") (data ??= []).push(value);
    else if (name === "event") event = value;
    else if (name === "id") id = value;
  }
  if (data) out.push({ event, data: data.join("\n"), id });
  return out;
}

const WORDS = ["hello", "wörld", "🌍", "a:b", " lead", "{\"x\":1}", "[DONE]", "", "é"];

function randomStream(r: () => number): string {
  const eol = () => ["\n", "\r\n", "\r"][Math.floor(r() * 3)];
  const pick = () => WORDS[Math.floor(r() * WORDS.length)];
  let s = "";
  const n = 1 + Math.floor(r() * 6);
  for (let e = 0; e < n; e++) {
    if (r() < 0.2) s += ": comment" + eol();
    if (r() < 0.3) s += "event: " + pick() + eol();
    if (r() < 0.2) s += "id:" + pick() + eol();
    if (r() < 0.1) s += "retry: 100" + eol();
    const dl = 1 + Math.floor(r() * 3);
    for (let d = 0; d < dl; d++) s += (r() < 0.5 ? "data: " : "data:") + pick() + pick() + eol();
    s += eol();
  }
  if (r() < 0.3) s += "data: tail"; // no blank line: flushed at the end
  return s;
}

describe("SseParser", () => {
  it("matches the reference parser on generated streams split at random", () => {
    const x = instance();
    const r = rng(1);
    for (let t = 0; t < 300; t++) {
      const text = randomStream(r);
      x.reset(1 << 16);
      const got: Ev[] = [];
      for (const c of splits(Buffer.from(text, "utf8"), r)) got.push(...((call(x, x.sseFeed, c) as { events: (Ev & { done: boolean })[] }).events));
      x.sseFinish();
      const fin = JSON.parse(Buffer.from(new Uint8Array(x.memory.buffer, x.outputPtr(), x.outputLen())).toString("utf8")) as { events: Ev[] };
      got.push(...fin.events);
      expect(got.map(({ event, data, id }) => ({ event, data, id })), JSON.stringify(text)).toEqual(referenceSse(text));
    }
  });

  it("flags [DONE] and refuses an event past its size limit without trapping", () => {
    const x = instance();
    x.reset(64);
    const d = call(x, x.sseFeed, Buffer.from("data: [DONE]\n\n")) as { events: { done: boolean }[] };
    expect(d.events[0].done).toBe(true);
    const big = call(x, x.sseFeed, Buffer.from("data: " + "x".repeat(200))) as { overflow: boolean };
    expect(big.overflow).toBe(true);
    const after = call(x, x.sseFeed, Buffer.from("\n\ndata: y\n\n")) as { events: unknown[] };
    expect(after.events).toEqual([]);
  });
});

describe("LineSplitter", () => {
  it("matches String.split on generated NDJSON split at random, skipping blank lines", () => {
    const x = instance();
    const r = rng(2);
    for (let t = 0; t < 200; t++) {
      const rows: string[] = [];
      const n = Math.floor(r() * 8);
      let text = "";
      for (let i = 0; i < n; i++) {
        const row = r() < 0.15 ? "  " : JSON.stringify({ i, w: WORDS[Math.floor(r() * WORDS.length)] });
        rows.push(row);
        text += row + (r() < 0.5 ? "\n" : "\r\n");
      }
      if (r() < 0.3) {
        rows.push('{"last":true}');
        text += '{"last":true}';
      }
      x.reset(1 << 16);
      const got: string[] = [];
      for (const c of splits(Buffer.from(text, "utf8"), r)) got.push(...(call(x, x.linesFeed, c) as { lines: string[] }).lines);
      got.push(...(call(x, () => x.linesFinish(), new Uint8Array(0)) as { lines: string[] }).lines);
      expect(got).toEqual(rows.filter((l) => l.trim().length > 0));
    }
  });
});

/** Lone surrogates replaced by U+FFFD (String.prototype.toWellFormed, ES2024). */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

describe("JsonWriter", () => {
  it("writes any string so that JSON.parse gives it back (lone surrogates become U+FFFD)", () => {
    const x = instance();
    const r = rng(3);
    const alphabet = ['"', "\\", "\n", "\r", "\t", "\b", "\f", "\u0000", "\u0001", "\u001f", "\u007f", "é", "€", "😀", "\ud800", "\udc00", "a", "/", "\u2028"];
    for (let t = 0; t < 300; t++) {
      let s = "";
      const n = Math.floor(r() * 20);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
      const units = Buffer.alloc(s.length * 2);
      for (let i = 0; i < s.length; i++) units.writeUInt16LE(s.charCodeAt(i), i * 2);
      expect(call(x, x.jsonString, units), JSON.stringify(s)).toBe(wellFormed(s));
    }
  });

  it("writes numbers JSON can read, and null for what JSON cannot hold", () => {
    const x = instance();
    for (const v of ["0", "-1", "42", "0.5", "-2.25", "1e21", "123456789012345", "3.141592653589793", "1e-7"]) {
      expect(call(x, x.jsonNumber, Buffer.from(v))).toBe(Number(v));
    }
    expect(call(x, x.jsonNumber, Buffer.from("NaN"))).toBeNull();
    expect(call(x, x.jsonNumber, Buffer.from("Infinity"))).toBeNull();
  });
});

describe("scanObject", () => {
  it("finds every top-level member with its exact raw value and decoded key", () => {
    const x = instance();
    const r = rng(4);
    const values: unknown[] = [1, -2.5e-3, "s", 'q"\\\n', null, true, false, [], {}, [1, [2, { a: "}" }]], { "k\"": { n: [null] } }, "😀"];
    for (let t = 0; t < 200; t++) {
      const obj: Record<string, unknown> = {};
      const n = Math.floor(r() * 6);
      for (let i = 0; i < n; i++) obj[["a", "model", 'k"ey', "ü\n", "\\"][Math.floor(r() * 5)] + i] = values[Math.floor(r() * values.length)];
      const text = r() < 0.5 ? JSON.stringify(obj) : JSON.stringify(obj, null, 2);
      const got = call(x, x.scan, Buffer.from(text, "utf8")) as [string, string, string][];
      expect(got.map(([k, v, k2]) => [k, JSON.parse(v), k2])).toEqual(Object.entries(obj).map(([k, v]) => [k, v, k]));
    }
  });

  it("decodes \\u escapes in keys and refuses what is not an object", () => {
    const x = instance();
    expect(call(x, x.scan, Buffer.from('{"\\u00e9\\ud83d\\ude00\\n":1}'))).toEqual([["é😀\n", "1", "é😀\n"]]);
    expect(call(x, x.scan, Buffer.from("[1]"))).toBeNull();
    expect(call(x, x.scan, Buffer.from('{"a":1'))).toBeNull();
    expect(call(x, x.scan, Buffer.from("  {}  "))).toEqual([]);
  });
});
