// ai-proxy's per-request facts read as raw bytes, with paths serialised once per VM: on_log
// runs for every request, and a string[] path, its serialisation and a UTF-8 decode per
// property were most of this filter's time (V8 profile, bench/chain.ts).

import { proxy_get_header_map_value } from "../../lib/abi/imports";
import { MapType, WasmResult } from "../../lib/abi/enums";
import { clearSlots, releasePins, RET_PTR, RET_SIZE, takeReturnedSlots } from "../../lib/abi/memory";
import { setLastStatus } from "../../lib/abi/status";

export { path, property, responseCode } from "../../lib/analytics/facts";

const PATH_HEADER = String.UTF8.encode(":path");

/** The request's :path as raw bytes (no decode, no re-encode), or null when absent. */
export function requestPath(): ArrayBuffer | null {
  clearSlots();
  const s = proxy_get_header_map_value(MapType.HttpRequestHeaders, changetype<usize>(PATH_HEADER), PATH_HEADER.byteLength, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  return takeReturnedSlots();
}

/** A non-negative decimal integer in `b`, or -1 (null, empty, over 18 digits, or not digits). */
export function countOf(b: ArrayBuffer | null): i64 {
  if (b == null) return -1;
  const n = b.byteLength;
  if (n == 0 || n > 18) return -1; // 18 digits always fit in i64
  const p = changetype<usize>(b);
  let v: i64 = 0;
  for (let i = 0; i < n; i++) {
    const c = load<u8>(p + <usize>i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}
