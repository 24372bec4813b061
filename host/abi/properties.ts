// proxy_get_property / proxy_set_property: paths are segments joined by NUL.
import { WasmResult } from "./enums.ts";
import type { HostFns } from "./host-fn.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import { resolveProperty } from "../proxy/properties.ts";

/** Paths whose segment lists are kept; past this the cache starts over. */
const MAX_PATHS = 1024;

export function propertyFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  // A module reads the same few paths on every request: each path's segments are split once
  // (the path string comes interned from readKey, so the lookup hashes nothing new).
  const segments = new Map<string, readonly string[]>();
  const segmentsOf = (path: string): readonly string[] => {
    let s = segments.get(path);
    if (s === undefined) {
      if (segments.size >= MAX_PATHS) segments.clear();
      s = Object.freeze(path.split("\0"));
      segments.set(path, s);
    }
    return s;
  };
  return {
    proxy_get_property(pathPtr: number, pathLen: number, vPtrPtr: number, vLenPtr: number): number {
      const path = m.readKey(pathPtr, pathLen);
      if (path === null) return WasmResult.InvalidMemoryAccess;
      const segs = segmentsOf(path);
      // readKey's slot names the path, so the first segment too when it is the whole path.
      const v = resolveProperty(vm.context(), segs, segs.length === 1 ? m.keySlot : undefined);
      if (typeof v === "number") return v;
      return m.copyOut(v, vPtrPtr, vLenPtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_property(pathPtr: number, pathLen: number, vPtr: number, vLen: number): number {
      const path = m.readKey(pathPtr, pathLen);
      const slot = m.keySlot;
      // The value is copied by the filter state from guest memory (no copy made here first).
      const src = m.bytes(vPtr, vLen);
      if (path === null || src === null) return WasmResult.InvalidMemoryAccess;
      return vm.context().setProperty(path, slot, src, vPtr >>> 0, vLen >>> 0);
    },
  };
}
