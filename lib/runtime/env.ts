// The VM's environment (Envoy: vm_config.environment_variables) through WASI environ_get.
// wasi-shim's process.env throws (traps) on a host error; this reader returns an empty map.

import { environ_get, environ_sizes_get } from "bindings/wasi_snapshot_preview1";

const sizes = memory.data(8);

/** NAME → value for every variable the host gives this VM. Empty on any host error. */
export function readEnvironment(): Map<string, string> {
  const env = new Map<string, string>();
  if (environ_sizes_get(sizes, sizes + 4) != 0) return env;
  const count = <usize>load<u32>(sizes);
  const dataSize = <usize>load<u32>(sizes + 4);
  if (count == 0 || count > 100000 || dataSize > (64 << 20)) return env;
  const ptrs = new StaticArray<u32>(<i32>count);
  const data = new Uint8Array(<i32>dataSize);
  if (environ_get(changetype<usize>(ptrs), data.dataStart) != 0) return env;
  const base = data.dataStart;
  const end = base + dataSize;
  for (let i = 0; i < <i32>count; i++) {
    const p = <usize>unchecked(ptrs[i]);
    if (p < base || p >= end) continue;
    // Each entry is NAME=value\0.
    let q = p;
    while (q < end && load<u8>(q) != 0) q++;
    const entry = String.UTF8.decodeUnsafe(p, q - p);
    const eq = entry.indexOf("=");
    if (eq < 0) env.set(entry, "");
    else env.set(entry.substring(0, eq), entry.substring(eq + 1));
  }
  return env;
}
