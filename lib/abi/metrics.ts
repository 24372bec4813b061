// Metrics (Envoy stats `wasmcustom.<name>`). Asymmetries to respect: increment on a counter
// needs delta > 0; record on a counter adds, on a gauge sets; get on a histogram is
// BAD_ARGUMENT (never call it there).

import { proxy_define_metric, proxy_get_metric, proxy_increment_metric, proxy_record_metric } from "./imports";
import { WasmResult } from "./enums";
import { RET_SIZE } from "./memory";
import { setLastStatus } from "./status";

/** Defines (or re-finds) a metric. Returns its id or the negated WasmResult. Not allowed during _start. */
export function defineMetric(type: i32, name: string): i64 {
  const n = String.UTF8.encode(name);
  store<u32>(RET_SIZE, 0);
  const s = proxy_define_metric(type, changetype<usize>(n), n.byteLength, RET_SIZE);
  setLastStatus(s);
  return s == WasmResult.Ok ? <i64>load<u32>(RET_SIZE) : -(<i64>s);
}

/** Adds `delta` (counters: > 0 only; gauges: either sign). Returns the host status. */
export function incrementMetric(id: u32, delta: i64): i32 {
  return proxy_increment_metric(id, delta);
}

/** Counter: adds; gauge: sets; histogram: records a sample. Returns the host status. */
export function recordMetric(id: u32, value: u64): i32 {
  return proxy_record_metric(id, value);
}

/** A counter's or gauge's value; 0 with lastStatus() != OK on failure. */
export function getMetric(id: u32): u64 {
  store<u64>(RET_SIZE, 0);
  const s = proxy_get_metric(id, RET_SIZE);
  setLastStatus(s);
  return s == WasmResult.Ok ? load<u64>(RET_SIZE) : 0;
}
