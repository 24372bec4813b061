// Small timing helpers shared by the in-process benches.

/** Median wall time of `fn` over `runs` runs after one warm-up run, in ms. */
export function medianRunMs(runs: number, fn: () => void): number {
  fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    fn();
    t.push(performance.now() - s);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)]!;
}

/**
 * What one clock read adds to a timed interval: the mean of `hrtime.bigint() - hrtime.bigint()`
 * with nothing between, the lowest of several batches (so the correction never exceeds it).
 * wasm-vm.ts times each top-level module call with such a pair; Envoy pays no such clock, so
 * the benches take it off the Wasm figures and say so.
 */
let calibrated: number | undefined;
export function clockOverheadNs(): number {
  if (calibrated !== undefined) return calibrated;
  let best = Infinity;
  for (let batch = 0; batch < 7; batch++) {
    const n = 200_000;
    let sum = 0n;
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      sum += process.hrtime.bigint() - t0;
    }
    best = Math.min(best, Number(sum) / n);
  }
  return (calibrated = best);
}

/** A VM's timed ns since its counters were reset, less the clock's share of each timed call. */
export function wasmNs(vm: { profileNs: bigint; profileCalls: number }, clockNs: number): number {
  return Math.max(0, Number(vm.profileNs) - vm.profileCalls * clockNs);
}
