// A worker thread for test/shared-data-memory.test.ts: adds 1 to a decimal counter in shared
// data `n` times, each a get then a set with the cas read, retried on CAS_MISMATCH.
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { SharedMemoryData } from "../../host/proxy/shared-data-memory.ts";

export const SHARED_DATA_WORKER_URL = import.meta.url;

interface Job {
  sab: SharedArrayBuffer;
  n: number;
  key: string;
  /** [0]: threads ready, [1]: go (set once every thread is ready, so that they overlap). */
  start: Int32Array;
}

function run(d: Job): void {
  const data = new SharedMemoryData(d.sab);
  Atomics.add(d.start, 0, 1);
  parentPort!.postMessage({ ready: true });
  Atomics.wait(d.start, 1, 0);
  let mismatches = 0;
  for (let i = 0; i < d.n; i++) {
    for (;;) {
      const cur = data.get("vm", d.key);
      if (!cur) throw new Error(`${d.key} is absent`);
      const next = String(Number(Buffer.from(cur.value).toString()) + 1);
      // A longer value each time the count gains a digit: entries move while others read them.
      if (data.set("vm", d.key, Buffer.from(next.padStart(next.length + (i % 7), "0")), cur.cas) === 0) break;
      mismatches++;
    }
  }
  parentPort!.postMessage({ mismatches });
}

if (!isMainThread && (workerData as { role?: string } | null)?.role === "shared-data-increment") run(workerData as Job);
