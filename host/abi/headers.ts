// Header-map calls (cpp-host exports.cc + Envoy Context::*HeaderMap*). Mutations need the map to
// be held (getMap); reads use the const view (getConstMap).
import { MapType, WasmResult } from "./enums.ts";
import { decodePairs, pairsSize, writePairs } from "./pairs.ts";
import type { HostFns } from "./host-fn.ts";
import type { HeaderMap } from "../http/header-map.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";

const EMPTY = new Uint8Array(0);

// add and replace as values, made once rather than as a closure per call.
const addValue = (map: HeaderMap, k: string, v: string): void => map.add(k, v);
const replaceValue = (map: HeaderMap, k: string, v: string): void => map.set(k, v);

export function headerFunctions(vm: WasmVm): HostFns {
  const m = vm.memory;
  const bad = (type: number) => type >>> 0 > MapType.Max;
  /** add and replace: both need the map held (getMap) and clear the route cache via onHeadersModified. */
  const setValue = (type: number, kPtr: number, kLen: number, vPtr: number, vLen: number, apply: (m: HeaderMap, k: string, v: string) => void): number => {
    if (bad(type)) return WasmResult.BadArgument;
    const key = m.readKey(kPtr, kLen);
    const value = m.readString(vPtr, vLen);
    if (key === null || value === null) return WasmResult.InvalidMemoryAccess;
    const ctx = vm.context();
    const map = ctx.getMap(type);
    if (!map) return WasmResult.BadArgument;
    apply(map, key, value);
    ctx.onHeadersModified(type);
    return WasmResult.Ok;
  };
  return {
    proxy_get_header_map_value(type: number, kPtr: number, kLen: number, vPtrPtr: number, vLenPtr: number): number {
      if (bad(type)) return WasmResult.BadArgument;
      const key = m.readKey(kPtr, kLen);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const ctx = vm.context();
      const map = ctx.getConstMap(type);
      if (!map) return ctx.accessLogPhase ? WasmResult.NotFound : WasmResult.BadArgument;
      const v = map.get(key);
      if (v === null) return WasmResult.NotFound;
      return m.copyOutString(v, vPtrPtr, vLenPtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_add_header_map_value(type: number, kPtr: number, kLen: number, vPtr: number, vLen: number): number {
      return setValue(type, kPtr, kLen, vPtr, vLen, addValue);
    },
    proxy_replace_header_map_value(type: number, kPtr: number, kLen: number, vPtr: number, vLen: number): number {
      return setValue(type, kPtr, kLen, vPtr, vLen, replaceValue);
    },
    proxy_remove_header_map_value(type: number, kPtr: number, kLen: number): number {
      if (bad(type)) return WasmResult.BadArgument;
      const key = m.readKey(kPtr, kLen);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const ctx = vm.context();
      const map = ctx.getMap(type);
      if (!map) return WasmResult.BadArgument;
      map.remove(key);
      ctx.onHeadersModified(type);
      return WasmResult.Ok;
    },
    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number): number {
      if (bad(type)) return WasmResult.BadArgument;
      // Envoy answers OK with an empty map when the map is not available.
      const map = vm.context().getConstMap(type);
      const pairs = map ? map.entries() : [];
      if (pairs.length === 0) return m.copyOut(EMPTY, ptrPtr, sizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
      // Serialized straight into the module's allocation.
      const lens = new Array<number>(pairs.length * 2);
      const size = pairsSize(pairs, lens);
      return m.copyOutWith(size, (out, at) => writePairs(out, at, pairs, lens), ptrPtr, sizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_header_map_pairs(type: number, ptr: number, size: number): number {
      if (bad(type)) return WasmResult.BadArgument;
      const data = m.read(ptr, size);
      if (data === null) return WasmResult.InvalidMemoryAccess;
      const ctx = vm.context();
      const map = ctx.getMap(type);
      if (!map) return WasmResult.BadArgument;
      map.clear();
      for (const [k, v] of decodePairs(data)) map.add(k, v);
      ctx.onHeadersModified(type);
      return WasmResult.Ok;
    },
    proxy_get_header_map_size(type: number, retPtr: number): number {
      if (bad(type)) return WasmResult.BadArgument;
      const map = vm.context().getMap(type);
      if (!map) return WasmResult.BadArgument;
      return m.writeU32(retPtr, map.byteSize()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
