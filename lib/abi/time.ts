// Time and ticks. Wall-clock from the host; a monotonic clock from WASI clock_time_get
// (Envoy provides clocks 0 and 1).

import { proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds } from "./imports";
import { clock_time_get } from "bindings/wasi_snapshot_preview1";
import { WasmResult } from "./enums";
import { RET_SIZE } from "./memory";
import { setLastStatus } from "./status";

/** Nanoseconds since the Unix epoch (host wall clock), or 0 on failure. */
export function currentTimeNanos(): u64 {
  store<u64>(RET_SIZE, 0);
  const s = proxy_get_current_time_nanoseconds(RET_SIZE);
  setLastStatus(s);
  return s == WasmResult.Ok ? load<u64>(RET_SIZE) : 0;
}

/** Monotonic nanoseconds (WASI clock 1), for measuring durations; 0 on failure. */
export function monotonicNanos(): u64 {
  store<u64>(RET_SIZE, 0);
  const e = clock_time_get(1, 1000, RET_SIZE);
  return e == 0 ? load<u64>(RET_SIZE) : 0;
}

/** Calls proxy_on_tick on the calling root context every `ms` (0 stops). Returns the host status. */
export function setTickPeriod(ms: u32): i32 {
  return proxy_set_tick_period_milliseconds(ms);
}
