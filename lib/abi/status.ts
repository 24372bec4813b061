// The status of the last wrapper call that returns a value instead of a status.
// Wrappers never trap: a failed call gives null (or a documented sentinel) and leaves the
// host's WasmResult here for callers that need to tell NOT_FOUND from BAD_ARGUMENT.

let last: i32 = 0;

/** The WasmResult of the most recent value-returning wrapper call. */
export function lastStatus(): i32 {
  return last;
}

/** @internal Records a wrapper's host status. */
export function setLastStatus(status: i32): i32 {
  last = status;
  return status;
}
