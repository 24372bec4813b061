// Shared data in shared memory (host/proxy/shared-data-memory.ts), the store worker threads use:
// byte for byte what the in-process SharedData answers (cpp-host src/shared_data.cc: one cas
// counter from 1, a cas on an absent key succeeds), and CAS that holds across threads.
import { describe, expect, it } from "vitest";
import { SharedData } from "../host/proxy/shared-data.ts";
import { SharedMemoryData, sharedDataBuffer } from "../host/proxy/shared-data-memory.ts";
import { spawnThread } from "../host/gateway/worker-spawn.ts";
import { SHARED_DATA_WORKER_URL } from "./support/shared-data-worker.ts";

/** A small deterministic PRNG (mulberry32), so a failure replays. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Keys that must stay apart: a NUL inside vm_id or key, empty strings, unicode (astral too),
// keys that differ in one unit, and many keys that share a hash bucket.
const VM_IDS = ["", "a", "a\0b", "vm", "ß", "\u{1F600}"];
const KEYS = ["", "b", "b\0c", "\0b", "k", "K", "k ", "ключ", "\u{1F600}x", ...Array.from({ length: 40 }, (_, i) => `key-${i}`)];

describe("shared data in shared memory", () => {
  it("answers every get and set as the in-process store does", () => {
    for (const seed of [1, 2]) {
      const rnd = prng(seed);
      const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const ref = new SharedData();
      // A small first buffer: the arena grows many times during the run.
      const mem = new SharedMemoryData(sharedDataBuffer(70_000));
      for (let i = 0; i < 3000; i++) {
        const vm = pick(VM_IDS);
        const key = pick(KEYS);
        if (rnd() < 0.4) {
          expect(mem.get(vm, key)).toEqual(ref.get(vm, key));
          continue;
        }
        const len = rnd() < 0.1 ? Math.floor(rnd() * 3000) : Math.floor(rnd() * 24);
        const value = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
        const cur = ref.get(vm, key);
        const r = rnd();
        const cas = r < 0.4 ? 0 : r < 0.7 && cur ? cur.cas : Math.floor(rnd() * 8000);
        expect(mem.set(vm, key, value, cas)).toBe(ref.set(vm, key, value, cas));
        // The store keeps its own copy.
        value.fill(0xee);
      }
      for (const vm of VM_IDS) for (const key of KEYS) expect(mem.get(vm, key)).toEqual(ref.get(vm, key));
    }
  });

  it("keeps compare-and-swap atomic across threads: concurrent increments all count", async () => {
    // A small buffer: the threads grow it while the others read. The key exists before they
    // start: a set with cas 0 (what an absent key gives) is unconditional, so "increment an
    // absent key" cannot be made safe in this API, here as in Envoy.
    const sab = sharedDataBuffer(4096 + 65_600);
    new SharedMemoryData(sab).set("vm", "counter", Buffer.from("0"), 0);
    const n = 3000;
    const start = new Int32Array(new SharedArrayBuffer(8));
    const threads = Array.from({ length: 3 }, () => spawnThread(SHARED_DATA_WORKER_URL, { role: "shared-data-increment", sab, n, key: "counter", start }));
    const results = await Promise.all(
      threads.map(
        (t) =>
          new Promise<{ mismatches: number }>((resolve, reject) => {
            t.on("message", (m: { ready?: boolean; mismatches?: number }) => {
              if (m.ready && Atomics.load(start, 0) === threads.length) {
                Atomics.store(start, 1, 1);
                Atomics.notify(start, 1);
              }
              if (m.mismatches !== undefined) resolve({ mismatches: m.mismatches });
            });
            t.once("error", reject);
          }),
      ),
    );
    await Promise.all(threads.map((t) => t.terminate()));
    const final = new SharedMemoryData(sab).get("vm", "counter")!;
    expect(Number(Buffer.from(final.value).toString())).toBe(3 * n);
    // Every successful set took one cas (the first, before the threads, took 1); the threads
    // did race (some sets were refused).
    expect(final.cas).toBe(3 * n + 1);
    expect(results.reduce((s, r) => s + r.mismatches, 0)).toBeGreaterThan(0);
  });
});
