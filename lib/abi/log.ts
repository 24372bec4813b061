// Logging through proxy_log (Envoy prints `wasm log <root_id> <vm_id>: msg` at the level).

import { proxy_get_log_level, proxy_log } from "./imports";
import { LogLevel, WasmResult } from "./enums";
import { RET_SIZE } from "./memory";
import { setLastStatus } from "./status";

/** Logs one line. Returns the host status (BAD_ARGUMENT for a level above CRITICAL). */
export function log(level: i32, message: string): i32 {
  const m = String.UTF8.encode(message);
  return proxy_log(level, changetype<usize>(m), m.byteLength);
}

export function logTrace(message: string): void {
  log(LogLevel.Trace, message);
}
export function logDebug(message: string): void {
  log(LogLevel.Debug, message);
}
export function logInfo(message: string): void {
  log(LogLevel.Info, message);
}
export function logWarn(message: string): void {
  log(LogLevel.Warn, message);
}
export function logError(message: string): void {
  log(LogLevel.Error, message);
}
export function logCritical(message: string): void {
  log(LogLevel.Critical, message);
}

/** Envoy's current log level, or -1 when the call fails (see lastStatus). */
export function getLogLevel(): i32 {
  store<u32>(RET_SIZE, 0);
  const s = proxy_get_log_level(RET_SIZE);
  setLastStatus(s);
  return s == WasmResult.Ok ? <i32>load<u32>(RET_SIZE) : -1;
}
