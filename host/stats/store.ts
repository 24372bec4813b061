// The process-wide stats store, shared by every VM and by the gateway itself, like Envoy's
// ThreadLocalStoreImpl seen from the admin endpoint: stats by full name, one namespace per
// type (a counter and a gauge may share a name), tags extracted once when a stat is created.
//
// Counters and gauges are uint64 as in Envoy: a counter wraps at 2^64; a gauge that is
// decreased below zero wraps too (Envoy only ASSERTs in debug builds; release builds wrap,
// and the admin page then shows 18446744073709551615). `value` is a JS number for
// convenience; `bigValue` is exact.

import { DEFAULT_HISTOGRAM_BUCKETS, HistogramData, type HistogramSnapshot } from "./histogram.ts";
import { TagProducer, type Tag, type TagSpec } from "./tag-extractor.ts";
import { renderPrometheus } from "./prometheus.ts";
import { renderJson, renderText } from "./text.ts";
import type { RenderOptions } from "./render-options.ts";
import type { HistogramBucketSetting, StatsConfig } from "../envoy/bootstrap-types.ts";
import { matchString } from "../envoy/string-match.ts";

export type { RenderOptions } from "./render-options.ts";

const U64 = 1n << 64n;

function toBig(n: number | bigint): bigint {
  if (typeof n === "bigint") return n;
  if (!Number.isFinite(n)) throw new RangeError(`stat value must be finite, got ${n}`);
  return BigInt(Math.trunc(n));
}

export interface StatBase {
  readonly name: string;
  readonly tagExtractedName: string;
  readonly tags: readonly Tag[];
  /** Envoy's used(): set on the first write. */
  readonly used: boolean;
}

/**
 * Counter and gauge values in shared memory: with worker threads every thread adds to the same
 * uint64, as Envoy's counters and gauges are process-wide atomics that every worker's TLS cache
 * points at (source/common/stats/allocator_impl.cc CounterImpl/GaugeImpl). Histograms stay
 * per thread and are merged for the admin endpoint, as Envoy's ThreadLocalHistogramImpl are
 * merged into their ParentHistogramImpl (source/common/stats/thread_local_store.cc).
 */
export interface StatCells {
  readonly values: BigUint64Array;
  readonly used: Int32Array;
  /** The cell of a counter ("c") or gauge ("g") name: the same cell in every thread. */
  index(kind: "c" | "g", name: string): number;
}

/** Largest increment summed as a double (a metric call's usual 1 or token count). */
const SMALL = 0xffffffff;
const SMALL_BIG = BigInt(SMALL);

export class Counter implements StatBase {
  private v = 0n;
  /** Small increments since the last fold into v, summed in a double (exact below 2^53): no BigInt per add. */
  private recent = 0;
  private isUsed = false;
  constructor(
    readonly name: string,
    readonly tagExtractedName: string,
    readonly tags: readonly Tag[],
  ) {}
  add(n: number | bigint = 1): void {
    const x = typeof n === "bigint" ? (n >= 0n && n <= SMALL_BIG ? Number(n) : -1) : n >= 0 && n <= SMALL ? Math.trunc(n) : -1;
    if (x >= 0) {
      if (this.recent + x > Number.MAX_SAFE_INTEGER) this.fold();
      this.recent += x;
    } else {
      const big = toBig(n); // throws on a value that is not finite, before anything changes
      this.fold();
      this.addBig(big);
    }
    this.isUsed = true;
  }
  private fold(): void {
    if (this.recent === 0) return;
    const r = this.recent;
    this.recent = 0;
    this.addBig(BigInt(r));
  }
  private addBig(n: bigint): void {
    // Wrapped only when out of range: a BigInt remainder per increment cost more than the rest.
    let v = this.v + n;
    if (v >= U64 || v < 0n) {
      v %= U64;
      if (v < 0n) v += U64;
    }
    this.v = v;
  }
  inc(): void {
    this.add(1n);
  }
  /** Envoy's used(): set on the first write. */
  get used(): boolean {
    return this.isUsed;
  }
  get value(): number {
    return Number(this.bigValue);
  }
  get bigValue(): bigint {
    this.fold();
    return this.v;
  }
}

/** One counter's or gauge's cell. Atomics on a BigUint64Array wrap at 2^64 as uint64 does. */
class SharedCell {
  /** The shared used flag is written once per stat and thread, not on every write. */
  private marked = false;
  constructor(
    private readonly cells: StatCells,
    private readonly i: number,
  ) {}
  add(n: bigint): void {
    Atomics.add(this.cells.values, this.i, n);
    this.mark();
  }
  store(n: bigint): void {
    Atomics.store(this.cells.values, this.i, n);
    this.mark();
  }
  get value(): bigint {
    return Atomics.load(this.cells.values, this.i);
  }
  get used(): boolean {
    return this.marked || Atomics.load(this.cells.used, this.i) === 1;
  }
  private mark(): void {
    if (this.marked) return;
    this.marked = true;
    Atomics.store(this.cells.used, this.i, 1);
  }
}

class SharedCounter extends Counter {
  constructor(name: string, tagExtractedName: string, tags: readonly Tag[], private readonly cell: SharedCell) {
    super(name, tagExtractedName, tags);
  }
  override add(n: number | bigint = 1): void {
    this.cell.add(toBig(n));
  }
  override get used(): boolean {
    return this.cell.used;
  }
  override get bigValue(): bigint {
    return this.cell.value;
  }
}

export class Gauge implements StatBase {
  private v = 0n;
  private isUsed = false;
  constructor(
    readonly name: string,
    readonly tagExtractedName: string,
    readonly tags: readonly Tag[],
  ) {}
  /** Adds `n`; a negative `n` is Envoy's sub(). */
  add(n: number | bigint): void {
    this.set(this.v + toBig(n));
  }
  sub(n: number | bigint): void {
    this.set(this.v - toBig(n));
  }
  set(n: number | bigint): void {
    this.v = BigInt.asUintN(64, toBig(n));
    this.isUsed = true;
  }
  get used(): boolean {
    return this.isUsed;
  }
  get value(): number {
    return Number(this.bigValue);
  }
  get bigValue(): bigint {
    return this.v;
  }
}

class SharedGauge extends Gauge {
  constructor(name: string, tagExtractedName: string, tags: readonly Tag[], private readonly cell: SharedCell) {
    super(name, tagExtractedName, tags);
  }
  override add(n: number | bigint): void {
    this.cell.add(toBig(n));
  }
  override sub(n: number | bigint): void {
    this.cell.add(-toBig(n));
  }
  override set(n: number | bigint): void {
    this.cell.store(BigInt.asUintN(64, toBig(n)));
  }
  override get used(): boolean {
    return this.cell.used;
  }
  override get bigValue(): bigint {
    return this.cell.value;
  }
}

export class Histogram implements StatBase {
  readonly data = new HistogramData();
  constructor(
    readonly name: string,
    readonly tagExtractedName: string,
    readonly tags: readonly Tag[],
    /** The bucket bounds used for Prometheus output (histogram_bucket_settings or defaults). */
    readonly buckets: readonly number[],
  ) {}
  record(v: number | bigint): void {
    this.data.record(v);
  }
  get used(): boolean {
    return this.data.used;
  }
}

export interface StatsStoreOptions {
  tagSpecifiers?: readonly TagSpec[];
  useAllDefaultTags?: boolean;
  /** stats_config.histogram_bucket_settings: the first entry whose matcher accepts the full name wins. */
  histogramBucketSettings?: readonly HistogramBucketSetting[];
  /** Buckets for every histogram; only used when histogramBucketSettings is not given. */
  histogramBuckets?: readonly number[] | null;
  /** Stat namespaces stripped in Prometheus output without the envoy_ prefix. */
  customNamespaces?: readonly string[];
  /** Counters and gauges in cells shared with other threads (worker threads); default: this store's own. */
  cells?: StatCells;
}

export class StatsStore {
  readonly counters = new Map<string, Counter>();
  readonly gauges = new Map<string, Gauge>();
  readonly histograms = new Map<string, Histogram>();
  readonly customNamespaces: ReadonlySet<string>;
  private readonly tagProducer: TagProducer;
  private readonly bucketRules: readonly HistogramBucketSetting[];
  private readonly cells: StatCells | null;

  constructor(options: StatsStoreOptions = {}) {
    this.cells = options.cells ?? null;
    this.tagProducer = new TagProducer({
      tagSpecifiers: options.tagSpecifiers ?? [],
      useAllDefaultTags: options.useAllDefaultTags ?? true,
    });
    this.bucketRules =
      options.histogramBucketSettings ??
      (options.histogramBuckets ? [{ match: { prefix: "", ignoreCase: false }, buckets: [...options.histogramBuckets] }] : []);
    // Envoy registers "wasmcustom" when the Wasm extension is linked (stats_handler.h).
    this.customNamespaces = new Set(options.customNamespaces ?? ["wasmcustom"]);
  }

  /** A store configured from the bootstrap's stats_config. */
  static fromConfig(config: StatsConfig, cells?: StatCells): StatsStore {
    return new StatsStore({
      tagSpecifiers: config.tagSpecifiers,
      useAllDefaultTags: config.useAllDefaultTags,
      histogramBucketSettings: config.histogramBucketSettings,
      cells,
    });
  }

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (!c) {
      const t = this.tagProducer.produceTags(name);
      c = this.cells ? new SharedCounter(name, t.tagExtractedName, t.tags, new SharedCell(this.cells, this.cells.index("c", name))) : new Counter(name, t.tagExtractedName, t.tags);
      this.counters.set(name, c);
    }
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (!g) {
      const t = this.tagProducer.produceTags(name);
      g = this.cells ? new SharedGauge(name, t.tagExtractedName, t.tags, new SharedCell(this.cells, this.cells.index("g", name))) : new Gauge(name, t.tagExtractedName, t.tags);
      this.gauges.set(name, g);
    }
    return g;
  }

  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (!h) {
      const t = this.tagProducer.produceTags(name);
      const rule = this.bucketRules.find((r) => matchString(r.match, name));
      h = new Histogram(name, t.tagExtractedName, t.tags, rule ? rule.buckets : DEFAULT_HISTOGRAM_BUCKETS);
      this.histograms.set(name, h);
    }
    return h;
  }

  /** This thread's histograms, for merging into the admin thread's view. */
  histogramSnapshots(): [string, HistogramSnapshot][] {
    return [...this.histograms.values()].map((h) => [h.name, h.data.snapshot()]);
  }

  /** Replaces every histogram's data with the merge of the threads' snapshots (Envoy's merge of TLS histograms). */
  mergeHistograms(perThread: [string, HistogramSnapshot][][]): void {
    for (const h of this.histograms.values()) h.data.reset();
    for (const list of perThread) for (const [name, snap] of list) this.histogram(name).data.merge(snap);
  }

  /** Envoy's /stats/prometheus body. */
  renderPrometheus(options: RenderOptions = {}): string {
    return renderPrometheus(this, options);
  }

  /** Envoy's /stats body (histograms as quantile summaries). */
  renderText(options: RenderOptions = {}): string {
    return renderText(this, options);
  }

  /** Envoy's /stats?format=json body. */
  renderJson(options: RenderOptions = {}): string {
    return renderJson(this, options);
  }
}
