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
