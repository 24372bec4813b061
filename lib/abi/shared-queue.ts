// Shared queues, keyed by (vm_id, name). Enqueueing wakes proxy_on_queue_ready on the
// root context that registered the queue.

import {
  proxy_dequeue_shared_queue,
  proxy_enqueue_shared_queue,
  proxy_register_shared_queue,
  proxy_resolve_shared_queue,
} from "./imports";
import { WasmResult } from "./enums";
import { clearSlots, releasePins, RET_PTR, RET_SIZE, takeReturnedSlots } from "./memory";
import { setLastStatus } from "./status";

/** Opens or creates a queue owned by the calling root context. Returns its id or the negated WasmResult. */
export function registerQueue(name: string): i64 {
  const n = String.UTF8.encode(name);
  store<u32>(RET_SIZE, 0);
  const s = proxy_register_shared_queue(changetype<usize>(n), n.byteLength, RET_SIZE);
  setLastStatus(s);
  return s == WasmResult.Ok ? <i64>load<u32>(RET_SIZE) : -(<i64>s);
}

/** Finds a queue another VM registered (vmId "" means this VM's). Returns its id or the negated WasmResult. */
export function resolveQueue(vmId: string, name: string): i64 {
  const v = String.UTF8.encode(vmId);
  const n = String.UTF8.encode(name);
  store<u32>(RET_SIZE, 0);
  const s = proxy_resolve_shared_queue(changetype<usize>(v), v.byteLength, changetype<usize>(n), n.byteLength, RET_SIZE);
  setLastStatus(s);
  return s == WasmResult.Ok ? <i64>load<u32>(RET_SIZE) : -(<i64>s);
}

/** Appends a value. Returns the host status (NOT_FOUND for an unknown id). */
export function enqueue(queueId: u32, value: ArrayBuffer): i32 {
  return proxy_enqueue_shared_queue(queueId, changetype<usize>(value), value.byteLength);
}

/** Takes the oldest value, or null (EMPTY when there is nothing; see lastStatus). */
export function dequeue(queueId: u32): ArrayBuffer | null {
  clearSlots();
  const s = proxy_dequeue_shared_queue(queueId, RET_PTR, RET_SIZE);
  setLastStatus(s);
  if (s != WasmResult.Ok) {
    releasePins();
    return null;
  }
  return takeReturnedSlots();
}
