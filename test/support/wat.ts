// Tiny purpose-built modules for host conformance tests, written in WAT and compiled with wabt.
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import wabtInit from "wabt";

const wabt = await wabtInit();

export function wat(text: string): Uint8Array {
  const mod = wabt.parseWat("test.wat", text);
  try {
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

/** A minimal well-formed proxy-wasm 0.2.1 module; `body` adds imports, functions, exports. */
export function proxyModule(body: string, opts: { marker?: boolean; malloc?: boolean; heap?: number } = {}): Uint8Array {
  return wat(`(module
  ${body}
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const ${opts.heap ?? 4096}))
  ${opts.malloc === false ? "" : `(func (export "malloc") (param $n i32) (result i32) (local $p i32)
    global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap
    local.get $p)`}
  ${opts.marker === false ? "" : `(func (export "proxy_abi_version_0_2_1"))`}
)`);
}

export function writeTemp(bytes: Uint8Array, name = "module.wasm"): string {
  const dir = mkdtempSync(join(tmpdir(), "aigw-test-"));
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}
