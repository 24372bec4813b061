// proxy_http_call and proxy_get_status. The call belongs to the root context: its response
// arrives in proxy_on_http_call_response with the root id (see lib/runtime for routing).

import { proxy_get_status, proxy_http_call } from "./imports";
import { WasmResult } from "./enums";
import { clearSlots, fromUtf8, releasePins, RET_EXTRA, RET_PTR, RET_SIZE, takeReturned } from "./memory";
import { HeaderPair, serializePairs } from "./pairs";
import { setLastStatus } from "./status";

/**
 * Dispatches an HTTP call to an Envoy cluster. `headers` must include :method, :path and
 * :authority (else BAD_ARGUMENT); timeoutMs 0 means no timeout.
 * Returns the token (>= 0) or the negated WasmResult on failure.
 */
export function httpCall(cluster: string, headers: HeaderPair[], body: ArrayBuffer | null, trailers: HeaderPair[], timeoutMs: u32): i64 {
  const c = String.UTF8.encode(cluster);
  const h = serializePairs(headers);
  const t = serializePairs(trailers);
  const b = body != null ? body : new ArrayBuffer(0);
  store<u32>(RET_SIZE, 0);
  const s = proxy_http_call(
    changetype<usize>(c), c.byteLength,
    changetype<usize>(h), h.byteLength,
    changetype<usize>(b), b.byteLength,
    changetype<usize>(t), t.byteLength,
    timeoutMs,
    RET_SIZE,
  );
  setLastStatus(s);
  return s == WasmResult.Ok ? <i64>load<u32>(RET_SIZE) : -(<i64>s);
}

/** The status the host reports (after a failed http call: code 11 and message "reset"). */
export class HostStatus {
  constructor(
    public code: u32,
    public message: string,
  ) {}
}

/** proxy_get_status, or null when the call fails. */
export function getStatus(): HostStatus | null {
  clearSlots();
  const s = proxy_get_status(RET_EXTRA, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  const code = load<u32>(RET_EXTRA);
  const msg = takeReturned(load<u32>(RET_PTR), load<u32>(RET_SIZE));
  releasePins();
  return new HostStatus(code, fromUtf8(msg));
}
