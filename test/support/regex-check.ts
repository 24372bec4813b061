// The wasm build of test/filters/regex-check (lib/regex behind a small export surface), loaded
// outside any host: test/regex.test.ts checks it, bench/regex.ts times it.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const WASM = resolve(ROOT, "build/test/regex-check.wasm");

export interface RegexCheck {
  memory: WebAssembly.Memory;
  _start(): void;
  inputBuffer(len: number): number;
  outputPtr(): number;
  outputLen(): number;
  compile(len: number): number;
  find(id: number, len: number): number;
  matchStart(): number;
  matchEnd(): number;
  test(id: number, len: number): number;
  testPike(id: number, len: number): number;
  programLength(id: number): number;
  dfaFlushes(id: number): number;
  bound(id: number): number;
  testBits(id: number, len: number): number;
  testBitsChunks(id: number, len: number): number;
  bitsPlan(id: number): number;
  dump(id: number): number;
  reset(): void;
  setAdd(id: number, group: number): number;
  setBuild(stopGroups: number): number;
  setSearch(id: number, len: number): number;
  setStopPattern(id: number): number;
  setPasses(id: number): number;
  setStates(id: number): number;
}

/** Builds the module when out of date (the build script skips it otherwise) and instantiates it. */
export function loadRegexCheck(): RegexCheck {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "regex-check"], { cwd: ROOT, stdio: "pipe" });
  const wasi = {
    fd_write: () => 0,
    proc_exit: (code: number) => {
      throw new Error(`regex-check trapped (proc_exit ${code})`);
    },
  };
  const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(WASM)), { wasi_snapshot_preview1: wasi }).exports as unknown as RegexCheck;
  x._start();
  return x;
}

/** Puts `b` in the module's input buffer (compile/find/test read it from there); returns its length. */
export function putInput(x: RegexCheck, b: Uint8Array): number {
  const p = x.inputBuffer(b.length) >>> 0;
  new Uint8Array(x.memory.buffer, p, b.length).set(b);
  return b.length;
}

/** The module's output buffer as text (a refusal message, a program dump). */
export function outputText(x: RegexCheck): string {
  return Buffer.from(new Uint8Array(x.memory.buffer, x.outputPtr() >>> 0, x.outputLen())).toString("utf8");
}
