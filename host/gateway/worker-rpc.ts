// Synchronous calls from any thread to the shared-state thread (worker-shared.ts), for what
// must answer inside a host function: shared queues and the stat-cell registry. (Shared data,
// called on every request by some filters, is in shared memory instead: shared-data-memory.ts.)
// A call posts its request on the caller's own MessagePort, rings the doorbell and sleeps in
// Atomics.wait on its reply flag; the shared-state thread, asleep on the doorbell, answers each
// request in order and raises the flag. Nothing waits on an event loop.

import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";

/** Control words in one SharedArrayBuffer: the doorbell, the stop flag, then one reply flag per caller. */
export const DOORBELL = 0;
export const STOP = 1;
export const FIRST_SLOT = 2;

export function controlWords(callers: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * (FIRST_SLOT + callers)));
}

export type RpcRequest =
  | { op: "queue.register"; vmId: string; name: string }
  | { op: "queue.resolve"; vmId: string; name: string }
  | { op: "queue.dequeue"; token: number }
  | { op: "queue.enqueue"; token: number; value: Uint8Array }
  | { op: "stat.index"; kind: "c" | "g"; name: string }
  | { op: "stat.list" };

export type RpcReply = { ok: unknown } | { error: string };

/** One caller's end: its port and its reply flag. */
export class RpcClient {
  constructor(
    private readonly port: MessagePort,
    private readonly ctl: Int32Array,
    private readonly slot: number,
  ) {}

  call(req: RpcRequest): unknown {
    Atomics.store(this.ctl, this.slot, 0);
    this.port.postMessage(req);
    Atomics.add(this.ctl, DOORBELL, 1);
    Atomics.notify(this.ctl, DOORBELL);
    while (Atomics.load(this.ctl, this.slot) === 0) {
      if (Atomics.load(this.ctl, STOP) === 1) throw new Error("shared-state thread: stopped");
      Atomics.wait(this.ctl, this.slot, 0, 1000);
    }
    const reply = receiveMessageOnPort(this.port)?.message as RpcReply | undefined;
    if (!reply) throw new Error("shared-state thread: no reply");
    if ("error" in reply) throw new Error(`shared-state thread: ${reply.error}`);
    return reply.ok;
  }
}

/** The shared-state thread's loop: answers every caller until STOP is set. */
export function serveRpc(ctl: Int32Array, ports: MessagePort[], handle: (req: RpcRequest, caller: number) => unknown): void {
  for (;;) {
    const seen = Atomics.load(ctl, DOORBELL);
    for (let i = 0; i < ports.length; i++) {
      const port = ports[i]!;
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) {
        let reply: RpcReply;
        try {
          reply = { ok: handle(m.message as RpcRequest, i) };
        } catch (e) {
          reply = { error: (e as Error).message };
        }
        port.postMessage(reply);
        Atomics.store(ctl, FIRST_SLOT + i, 1);
        Atomics.notify(ctl, FIRST_SLOT + i);
      }
    }
    if (Atomics.load(ctl, STOP) === 1) return;
    Atomics.wait(ctl, DOORBELL, seen);
  }
}

export function stopRpc(ctl: Int32Array): void {
  Atomics.store(ctl, STOP, 1);
  Atomics.add(ctl, DOORBELL, 1);
  Atomics.notify(ctl, DOORBELL);
}
