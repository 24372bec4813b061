// Process-wide shared queues (cpp-host src/shared_queue.cc): registered per (vm_id, name);
// enqueue wakes on_queue_ready on the registering VM's root context, from its event loop.

import { WasmResult } from "../abi/enums.ts";
import type { WasmVm } from "./wasm-vm.ts";

interface Queue {
  vmId: string;
  name: string;
  items: Uint8Array[];
  vm: WasmVm;
  contextId: number;
}

export class SharedQueues {
  private readonly byToken = new Map<number, Queue>();
  private readonly byName = new Map<string, number>();
  private nextToken = 1;

  constructor(private readonly onReady: (vm: WasmVm, contextId: number, token: number) => void) {}

  register(vmId: string, name: string, vm: WasmVm, contextId: number): number {
    const key = `${vmId}\0${name}`;
    const existing = this.byName.get(key);
    if (existing !== undefined) {
      const q = this.byToken.get(existing)!;
      q.vm = vm;
      q.contextId = contextId;
      return existing;
    }
    const token = this.nextToken++;
    this.byToken.set(token, { vmId, name, items: [], vm, contextId });
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
    const { vm, contextId } = q;
    setImmediate(() => this.onReady(vm, contextId, token));
    return WasmResult.Ok;
  }
}
