// Envoy keeps histograms in libcircllhist (openhistogram/libcircllhist): each value falls
// into a bin of two significant digits, and everything Envoy reports is computed from the
// bins, not from the raw values. We keep the same bins and the same arithmetic so that the
// printed numbers match Envoy's:
//  - recordValue(v) is hist_insert_intscale(v, 0): bin (val, exp) with val in 10..99 and
//    lower bound val/10 * 10^exp, width 10^exp / 10 (value 0 has its own zero bin);
//  - a Prometheus bucket `le` counts the bins whose upper bound is <= le
//    (hist_approx_count_below), so a value equal to a bucket bound lands in the next bucket
//    (envoy issue #36549, still open);
//  - _sum is hist_approx_sum: bin midpoints times counts, summed in bin order, so recording
//    5 gives 5.05;
//  - quantiles are hist_approx_quantile (used by the text /stats output).

export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** Envoy's supported quantiles (HistogramStatisticsImpl), as fractions. */
export const SUPPORTED_QUANTILES: readonly number[] = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

interface Bin {
  val: number; // -99..-10, 0 or 10..99
  exp: number; // int8
  count: bigint;
  /** Values recorded since the last fold into count: a double, so that a record makes no BigInt. */
  recent: number;
}

const U64_MAX = (1n << 64n) - 1n;

/** circllhist's power_of_ten table: the C literal 1e<exp>, which Number() parses the same way. */
function pow10(exp: number): number {
  return Number(`1e${exp}`);
}

function binLeftEdge(b: Bin): number {
  return b.val === 0 ? 0 : (b.val / 10.0) * pow10(b.exp); // hist_bucket_to_double
}

function binWidth(b: Bin): number {
  return b.val === 0 ? 0 : pow10(b.exp) / 10.0;
}

function binMidpoint(b: Bin): number {
  if (b.val === 0) return 0;
  const out = binLeftEdge(b);
  let interval = binWidth(b);
  if (out < 0) interval *= -1.0;
  return out + interval / 2.0;
}

/** hist_bucket_left: the side of the bin closest to -inf. */
function binLeft(b: Bin): number {
  if (b.val === 0) return 0;
  const out = binLeftEdge(b);
  return out > 0 ? out : out - binWidth(b);
}

/** int_scale_to_hist_bucket(value, 0) for an int64 value. */
export function binFor(value: bigint): { val: number; exp: number } | null {
  if (value === 0n) return { val: 0, exp: 0 };
  let sign = 1n;
  let v = value;
  if (v < 0n) {
    v = v === -(1n << 63n) ? (1n << 63n) - 1n : -v;
    sign = -1n;
  }
  let scale = 1;
  if (v < 10n) {
    v *= 10n;
    scale -= 1;
  }
  while (v >= 100n) {
    v /= 10n;
    scale++;
  }
  if (scale > 127) return null; // NaN bin: skipped by every statistic
  return { val: Number(sign * v), exp: scale };
}

// safeBin's answer, in module variables rather than an object per value.
let binVal = 0;
let binExp = 0;

/** binFor for a safe integer, in doubles (the same arithmetic), into binVal and binExp. */
function safeBin(value: number): void {
  if (value === 0) {
    binVal = binExp = 0;
    return;
  }
  let v = value < 0 ? -value : value;
  let scale = 1;
  if (v < 10) {
    v *= 10;
    scale -= 1;
  }
  while (v >= 100) {
    v = (v - (v % 10)) / 10; // v /= 10n: exact for integers below 2^53
    scale++;
  }
  binVal = value < 0 ? -v : v;
  binExp = scale;
}

/** A histogram's bins as they cross threads: [val, exp, count] each, and whether anything was recorded. */
export interface HistogramSnapshot {
  recorded: boolean;
  bins: [number, number, bigint][];
}

/** Adds a bin's recent values to its count, saturating at 2^64 - 1 as circllhist's counts do. */
function foldBin(b: Bin): void {
  const c = b.count + BigInt(b.recent);
  b.count = c > U64_MAX ? U64_MAX : c;
  b.recent = 0;
}

export class HistogramData {
  private readonly bins = new Map<number, Bin>();
  private recorded = false;

  /** Records one value; Envoy passes the uint64 to circllhist as int64. */
  record(value: number | bigint): void {
    // A value within ±2^53 (every latency and token count) is binned in doubles, exactly as
    // binFor bins it in BigInts (one BigInt division per digit was most of a record).
    // Number() of a BigInt beyond ±(2^53 - 1) is never a safe integer: no BigInt compare needed.
    const n = typeof value === "bigint" ? Number(value) : Math.trunc(value);
    if (Number.isSafeInteger(n)) {
      this.recorded = true;
      safeBin(n);
      this.add(binVal, binExp);
      return;
    }
    const v = BigInt.asIntN(64, typeof value === "bigint" ? value : BigInt(Math.trunc(value)));
    this.recorded = true;
    const b = binFor(v);
    if (!b) return;
    this.add(b.val, b.exp);
  }

  /**
   * Counts one value in the bin (val, exp): in the bin's `recent` double (exact far beyond any
   * count a process reaches), folded into its saturating uint64 count before anything reads it.
   */
  private add(val: number, exp: number): void {
    const key = val * 256 + exp;
    const bin = this.bins.get(key);
    if (!bin) this.bins.set(key, { val, exp, count: 0n, recent: 1 });
    else if (++bin.recent === Number.MAX_SAFE_INTEGER) foldBin(bin);
  }

  /** Folds every bin's recent values into its count; every reader of counts calls it first. */
  private fold(): void {
    for (const b of this.bins.values()) if (b.recent !== 0) foldBin(b);
  }

  snapshot(): HistogramSnapshot {
    this.fold();
    return { recorded: this.recorded, bins: [...this.bins.values()].map((b) => [b.val, b.exp, b.count]) };
  }

  /** Adds another thread's bins (hist_accumulate), counts saturating as in record(). */
  merge(s: HistogramSnapshot): void {
    this.recorded ||= s.recorded;
    for (const [val, exp, count] of s.bins) {
      const key = val * 256 + exp;
      const bin = this.bins.get(key);
      if (bin) bin.count = bin.count + count > U64_MAX ? U64_MAX : bin.count + count;
      else this.bins.set(key, { val, exp, count, recent: 0 });
    }
  }

  reset(): void {
    this.bins.clear();
    this.recorded = false;
  }

  /** Whether anything was ever recorded (Envoy's `used()`). */
  get used(): boolean {
    return this.recorded;
  }

  /** Bins in ascending order on the real axis, as circllhist stores them (counts folded). */
  private sorted(): Bin[] {
    this.fold();
    return [...this.bins.values()].sort((a, b) => binLeftEdge(a) - binLeftEdge(b));
  }

  get sampleCount(): bigint {
    this.fold();
    let n = 0n;
    for (const b of this.bins.values()) n += b.count;
    return n > U64_MAX ? U64_MAX : n;
  }

  /** hist_approx_sum. */
  get sampleSum(): number {
    let sum = 0.0;
    for (const b of this.sorted()) sum += binMidpoint(b) * Number(b.count);
    return sum;
  }

  /** hist_approx_count_below for each bucket bound. */
  computedBuckets(bounds: readonly number[]): bigint[] {
    const bins = this.sorted();
    return bounds.map((threshold) => {
      let n = 0n;
      for (const b of bins) {
        const edge = binLeftEdge(b);
        const upper = edge < 0 ? edge : edge + binWidth(b);
        if (upper <= threshold) n += b.count;
        else break;
      }
      return n;
    });
  }

  /** hist_approx_quantile; NaN for an empty histogram. */
  quantiles(qs: readonly number[] = SUPPORTED_QUANTILES): number[] {
    const bins = this.sorted().filter((b) => b.count > 0n);
    const total = bins.reduce((n, b) => n + Number(b.count), 0);
    if (total === 0) return qs.map(() => NaN);
    const out = qs.map((q) => total * q);
    let i = 0;
    let width = 0;
    let left = 0;
    let lower = 0;
    let upper = 0;
    const track = (b: Bin) => {
      width = binWidth(b);
      left = binLeft(b);
      lower = upper;
      upper = lower + Number(b.count);
    };
    track(bins[0]!);
    for (let q = 0; q < out.length; q++) {
      while (i < bins.length - 1 && upper < out[q]!) {
        i++;
        track(bins[i]!);
      }
      if (lower === out[q]) out[q] = left;
      else if (upper === out[q]) out[q] = left + width;
      else if (width === 0) out[q] = left;
      else out[q] = left + ((out[q]! - lower) / (upper - lower)) * width;
    }
    return out;
  }
}
