// The wasm build of test/filters/guard-check (ai-prompt-guard's extraction and pattern set behind
// a small export surface), loaded outside any host: test/guard-extract.test.ts checks it,
// bench/guard.ts times it.
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const WASM = resolve(ROOT, "build/test/guard-check.wasm");

export interface GuardCheck {
  memory: WebAssembly.Memory;
  _start(): void;
  inputBuffer(len: number): number;
  outputPtr(): number;
  outputLen(): number;
  extract(len: number, matchAllRoles: number, latestOnly: number): number;
  extractSlow(len: number, matchAllRoles: number, latestOnly: number): number;
  extractTree(len: number, matchAllRoles: number, latestOnly: number): number;
  configure(len: number): number;
  search(len: number): number;
  guard(len: number): number;
  passes(): number;
}

/**
 * Builds the module and instantiates it. It imports from filters/ai-prompt-guard, which the build
 * script's input hash for a test module does not cover: the stamp is dropped so it always rebuilds.
 */
export function loadGuardCheck(): GuardCheck {
  rmSync(resolve(ROOT, "build/test/.inputs/guard-check.sha256"), { force: true });
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "guard-check"], { cwd: ROOT, stdio: "pipe" });
  const wasi = {
    fd_write: () => 0,
    proc_exit: (code: number) => {
      throw new Error(`guard-check trapped (proc_exit ${code})`);
    },
  };
  const x = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(WASM)), { wasi_snapshot_preview1: wasi }).exports as unknown as GuardCheck;
  x._start();
  return x;
}

/** Puts `b` in the module's input buffer; returns its length. */
export function putInput(x: GuardCheck, b: Uint8Array): number {
  const p = x.inputBuffer(b.length) >>> 0;
  new Uint8Array(x.memory.buffer, p, b.length).set(b);
  return b.length;
}

/** The module's output buffer (the extracted text, or a message). */
export function output(x: GuardCheck): Buffer {
  return Buffer.from(new Uint8Array(x.memory.buffer, x.outputPtr() >>> 0, x.outputLen()));
}
