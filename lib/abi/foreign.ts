// Envoy foreign functions (e.g. "clear_route_cache", "set_envoy_filter_state").

import { proxy_call_foreign_function } from "./imports";
import { WasmResult } from "./enums";
import { clearSlots, releasePins, RET_PTR, RET_SIZE, takeReturnedSlots } from "./memory";
import { setLastStatus } from "./status";

/** Calls a host foreign function. Returns its result bytes, or null (NOT_FOUND if unknown; see lastStatus). */
export function callForeignFunction(name: string, args: ArrayBuffer): ArrayBuffer | null {
  const n = String.UTF8.encode(name);
  clearSlots();
  const s = proxy_call_foreign_function(changetype<usize>(n), n.byteLength, changetype<usize>(args), args.byteLength, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  return takeReturnedSlots();
}
