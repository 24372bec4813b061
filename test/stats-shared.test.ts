// Stats across worker threads (host/stats/store.ts StatCells, HistogramData.merge): counters and
// gauges are one uint64 for the process that every thread writes, as Envoy's CounterImpl and
// GaugeImpl are atomics shared by every worker (source/common/stats/allocator_impl.cc);
// histograms are per thread and merged (ThreadLocalHistogramImpl into ParentHistogramImpl,
// source/common/stats/thread_local_store.cc). Two stores over the same cells stand for two threads.
import { describe, expect, it } from "vitest";
import { StatsStore, type StatCells } from "../host/stats/store.ts";

function cells(capacity = 64): StatCells {
  const names = new Map<string, number>();
  return {
    values: new BigUint64Array(new SharedArrayBuffer(8 * capacity)),
    used: new Int32Array(new SharedArrayBuffer(4 * capacity)),
    index: (kind, name) => {
      const key = `${kind}${name}`;
      if (!names.has(key)) names.set(key, names.size);
      return names.get(key)!;
    },
  };
}

describe("stats shared between threads", () => {
  it("counters add up, wrap at 2^64, and are used once any thread wrote them", () => {
    const c = cells();
    const [a, b, admin] = [new StatsStore({ cells: c }), new StatsStore({ cells: c }), new StatsStore({ cells: c })];
    expect(admin.counter("x").used).toBe(false);
    a.counter("x").add(3);
    b.counter("x").inc();
    expect(admin.counter("x").bigValue).toBe(4n);
    expect(admin.counter("x").used).toBe(true);
    b.counter("x").add((1n << 64n) - 1n);
    expect(a.counter("x").bigValue).toBe(3n);
  });

  it("a gauge is one value: set is the last write, add and sub wrap as uint64", () => {
    const c = cells();
    const [a, b] = [new StatsStore({ cells: c }), new StatsStore({ cells: c })];
    a.gauge("g").set(7);
    b.gauge("g").set(7);
    expect(a.gauge("g").bigValue).toBe(7n);
    b.gauge("g").sub(9);
    expect(a.gauge("g").bigValue).toBe((1n << 64n) - 2n);
    a.gauge("g").add(5);
    expect(b.gauge("g").value).toBe(3);
    // A counter and a gauge of the same name are two stats.
    a.counter("g").inc();
    expect(b.gauge("g").value).toBe(3);
  });

  it("merged histograms print what one histogram recording every value prints", () => {
    const [a, b, one] = [new StatsStore(), new StatsStore(), new StatsStore()];
    const values = [0, 1, 5, 5, 42, 99, 100, 1234, 10 ** 7];
    values.forEach((v, i) => (i % 2 ? a : b).histogram("h").record(v));
    for (const v of values) one.histogram("h").record(v);
    // Defined on one thread, recorded on none: listed, with no recorded values.
    a.histogram("unused");
    one.histogram("unused");
    const admin = new StatsStore();
    admin.mergeHistograms([a.histogramSnapshots(), b.histogramSnapshots()]);
    expect(admin.renderPrometheus()).toBe(one.renderPrometheus());
    expect(admin.renderText()).toBe(one.renderText());
    // A second merge starts again from the threads' current data.
    admin.mergeHistograms([a.histogramSnapshots(), b.histogramSnapshots()]);
    expect(admin.renderText()).toBe(one.renderText());
  });
});
