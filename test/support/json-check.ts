// The wasm build of test/filters/json-check (lib/json behind a small export surface), loaded
// outside any host: test/lib-json.test.ts, lib-json-raw.test.ts and lib-json-names.test.ts check it.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");
const WASM = resolve(ROOT, "build/test/json-check.wasm");

export interface JsonCheck {
  memory: WebAssembly.Memory;
  _start(): void;
  inputBuffer(len: number): number;
  outputPtr(): number;
  outputLen(): number;
  validate(maxDepth: number): number;
  roundTrip(maxDepth: number): number;
  fieldTypes(keyLen: number): number;
  rawField(keyLen: number): number;
  stringBytes(): number;
  names(): number;
  members(maxDepth: number): number;
  membersRef(maxDepth: number): number;
  usageRaw(): number;
  usageParsed(): number;
}

/** Builds the module when out of date (the build script skips it otherwise) and compiles it. */
export function compileJsonCheck(): WebAssembly.Module {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "json-check"], { cwd: ROOT, stdio: "pipe" });
  return new WebAssembly.Module(readFileSync(WASM));
}

/** A fresh instance of `mod`, started. */
export function instantiateJsonCheck(mod: WebAssembly.Module): JsonCheck {
  const wasi = { fd_write: () => 0, proc_exit: () => {} };
  const x = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: wasi }).exports as unknown as JsonCheck;
  x._start();
  return x;
}

/** Copies `bytes` into the module's input buffer. */
export function putInput(x: JsonCheck, bytes: Uint8Array): void {
  const p = x.inputBuffer(bytes.length);
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
}

/** The module's last output, as UTF-8 text. */
export function outputText(x: JsonCheck): string {
  return Buffer.from(new Uint8Array(x.memory.buffer, x.outputPtr(), x.outputLen())).toString("utf8");
}
