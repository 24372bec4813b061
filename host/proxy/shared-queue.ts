// Process-wide shared queues (cpp-host src/shared_queue.cc): registered per (vm_id, name);
// enqueue wakes on_queue_ready on the root context that registered the queue last, from its
// own event loop. With worker threads the queues live in the shared-state thread
// (host/gateway/worker-shared.ts) and the wake is a message to the registering thread.

import { WasmResult } from "../abi/enums.ts";
import type { WasmVm } from "./wasm-vm.ts";

/** What a VM's host functions use (host/abi/shared.ts). */
export interface SharedQueueApi {
  register(vmId: string, name: string, vm: WasmVm, contextId: number): number;
  resolve(vmId: string, name: string): number;
  dequeue(token: number): Uint8Array | WasmResult;
  enqueue(token: number, value: Uint8Array): WasmResult;
}

interface Queue<O> {
  items: Uint8Array[];
  owner: O;
}

/** The queues; `O` is whom an enqueue wakes (a VM's root context, or a worker thread). */
export class QueueStore<O> {
  private readonly byToken = new Map<number, Queue<O>>();
  private readonly byName = new Map<string, number>();
  private nextToken = 1;

  constructor(private readonly wake: (owner: O, token: number) => void) {}

  /** A second registration of the same (vm_id, name) takes over the wake-ups (registerSharedQueue). */
  register(vmId: string, name: string, owner: O): number {
    const key = `${vmId}\0${name}`;
    const existing = this.byName.get(key);
    if (existing !== undefined) {
      this.byToken.get(existing)!.owner = owner;
      return existing;
    }
    const token = this.nextToken++;
    this.byToken.set(token, { items: [], owner });
    this.byName.set(key, token);
    return token;
  }

  resolve(vmId: string, name: string): number {
    return this.byName.get(`${vmId}\0${name}`) ?? 0;
  }

  dequeue(token: number): Uint8Array | WasmResult {
    const q = this.byToken.get(token);
    if (!q) return WasmResult.NotFound;
    const item = q.items.shift();
    return item ?? WasmResult.Empty;
  }

  enqueue(token: number, value: Uint8Array): WasmResult {
    const q = this.byToken.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(value.slice());
    this.wake(q.owner, token);
    return WasmResult.Ok;
  }
}

/** The queues of a gateway whose VMs all run on this thread. */
export class SharedQueues implements SharedQueueApi {
  private readonly store: QueueStore<{ vm: WasmVm; contextId: number }>;

  constructor(onReady: (vm: WasmVm, contextId: number, token: number) => void) {
    this.store = new QueueStore(({ vm, contextId }, token) => setImmediate(() => onReady(vm, contextId, token)));
  }

  register(vmId: string, name: string, vm: WasmVm, contextId: number): number {
    return this.store.register(vmId, name, { vm, contextId });
  }
  resolve(vmId: string, name: string): number {
    return this.store.resolve(vmId, name);
  }
  dequeue(token: number): Uint8Array | WasmResult {
    return this.store.dequeue(token);
  }
  enqueue(token: number, value: Uint8Array): WasmResult {
    return this.store.enqueue(token, value);
  }
}
