// ai-proxy's per-request facts read as raw bytes, with paths serialised once per VM: on_log
// runs for every request, and a string[] path, its serialisation and a UTF-8 decode per
// property were most of this filter's time (V8 profile, bench/chain.ts).

import { proxy_get_header_map_value } from "../../lib/abi/imports";
import { MapType, WasmResult } from "../../lib/abi/enums";
import { clearSlots, releasePins, RET_PTR, RET_SIZE, takeReturnedSlots } from "../../lib/abi/memory";
import { setLastStatus } from "../../lib/abi/status";
import { parseDecimal } from "../../lib/prompt/decimal";

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
  return b == null ? -1 : parseDecimal(b);
}
