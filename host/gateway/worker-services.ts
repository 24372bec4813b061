// A thread's handles on the shared-state thread (worker-shared.ts): shared queues and stat
// cells with the interfaces the runtime and the stats store use in process.

import { WasmResult } from "../abi/enums.ts";
import type { SharedQueueApi } from "../proxy/shared-queue.ts";
import type { WasmVm } from "../proxy/wasm-vm.ts";
import type { StatCells } from "../stats/store.ts";
import type { RpcClient } from "./worker-rpc.ts";

/**
 * Queues owned by the shared-state thread. This thread remembers which of its VMs' root
 * contexts registered each token; an enqueue anywhere sends the registering thread a
 * "queue-ready" message (`ready`), and on_queue_ready runs here, on that VM's thread.
 */
export class RemoteQueues implements SharedQueueApi {
  private readonly owners = new Map<number, { vm: WasmVm; contextId: number }>();
  constructor(
    private readonly rpc: RpcClient,
    private readonly onReady: (vm: WasmVm, contextId: number, token: number) => void,
  ) {}

  register(vmId: string, name: string, vm: WasmVm, contextId: number): number {
    const token = this.rpc.call({ op: "queue.register", vmId, name }) as number;
    this.owners.set(token, { vm, contextId });
    return token;
  }
  resolve(vmId: string, name: string): number {
    return this.rpc.call({ op: "queue.resolve", vmId, name }) as number;
  }
  dequeue(token: number): Uint8Array | WasmResult {
    return this.rpc.call({ op: "queue.dequeue", token }) as Uint8Array | WasmResult;
  }
  enqueue(token: number, value: Uint8Array): WasmResult {
    return this.rpc.call({ op: "queue.enqueue", token, value }) as WasmResult;
  }
  /** The shared-state thread's wake-up for a queue this thread registered. */
  ready(token: number): void {
    const o = this.owners.get(token);
    if (o) this.onReady(o.vm, o.contextId, token);
  }
}

/** Where the counter and gauge values live: shared memory every thread maps. */
export interface StatCellBuffers {
  values: SharedArrayBuffer;
  used: SharedArrayBuffer;
}

export function statCellBuffers(capacity: number): StatCellBuffers {
  return { values: new SharedArrayBuffer(8 * capacity), used: new SharedArrayBuffer(4 * capacity) };
}

export class RemoteStatCells implements StatCells {
  readonly values: BigUint64Array;
  readonly used: Int32Array;
  private readonly known = new Map<string, number>();
  constructor(
    buffers: StatCellBuffers,
    private readonly rpc: RpcClient,
  ) {
    this.values = new BigUint64Array(buffers.values);
    this.used = new Int32Array(buffers.used);
  }

  index(kind: "c" | "g", name: string): number {
    const key = `${kind}${name}`;
    let i = this.known.get(key);
    if (i === undefined) {
      i = this.rpc.call({ op: "stat.index", kind, name }) as number;
      this.known.set(key, i);
    }
    return i;
  }

  /** Every counter and gauge any thread has made (the admin thread's view). */
  list(): [kind: "c" | "g", name: string][] {
    const all = this.rpc.call({ op: "stat.list" }) as ["c" | "g", string, number][];
    for (const [k, n, i] of all) this.known.set(`${k}${n}`, i);
    return all.map(([k, n]) => [k, n]);
  }
}
