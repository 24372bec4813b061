// The shared-state thread: the one owner of the shared queues and the stat-cell registry when
// the gateway runs on worker threads. Envoy keeps shared queues process-wide behind a mutex
// (source/extensions/common/wasm/context.cc and wasm.cc, over proxy-wasm-cpp-host's
// shared_queue.cc); here one thread owns them and every other thread calls it synchronously
// (worker-rpc.ts), so register, resolve, enqueue and dequeue are atomic across threads. Shared
// data is process-wide too, in shared memory every thread locks (shared-data-memory.ts).

import { isMainThread, workerData, type MessagePort } from "node:worker_threads";
import { QueueStore } from "../proxy/shared-queue.ts";
import { serveRpc, type RpcRequest } from "./worker-rpc.ts";

export const SHARED_THREAD_URL = import.meta.url;

export interface SharedThreadData {
  aigw: "shared";
  ctl: Int32Array;
  /** One RPC port per caller: gateway worker i is caller i, the main thread the last. */
  rpc: MessagePort[];
  /** Each gateway worker's event port: on_queue_ready wake-ups. */
  events: MessagePort[];
  statCapacity: number;
}

/** Counters and gauges by kind and name: the cell every thread uses for that stat. */
class StatRegistry {
  private readonly cells = new Map<string, number>();
  constructor(private readonly capacity: number) {}

  index(kind: "c" | "g", name: string): number {
    const key = `${kind}${name}`;
    let i = this.cells.get(key);
    if (i === undefined) {
      if (this.cells.size >= this.capacity) throw new Error(`more than ${this.capacity} counters and gauges`);
      i = this.cells.size;
      this.cells.set(key, i);
    }
    return i;
  }

  list(): [kind: string, name: string, index: number][] {
    return [...this.cells].map(([k, i]) => [k[0]!, k.slice(1), i]);
  }
}

function run(d: SharedThreadData): void {
  const queues = new QueueStore<number>((worker, token) => d.events[worker]?.postMessage({ type: "queue-ready", token }));
  const stats = new StatRegistry(d.statCapacity);
  serveRpc(d.ctl, d.rpc, (req: RpcRequest, caller: number) => {
    switch (req.op) {
      case "queue.register":
        return queues.register(req.vmId, req.name, caller);
      case "queue.resolve":
        return queues.resolve(req.vmId, req.name);
      case "queue.dequeue":
        return queues.dequeue(req.token);
      case "queue.enqueue":
        return queues.enqueue(req.token, req.value);
      case "stat.index":
        return stats.index(req.kind, req.name);
      case "stat.list":
        return stats.list();
    }
  });
  // Closing the ports lets the thread end.
  for (const p of [...d.rpc, ...d.events]) p.close();
}

if (!isMainThread && (workerData as { aigw?: string } | null)?.aigw === "shared") run(workerData as SharedThreadData);
