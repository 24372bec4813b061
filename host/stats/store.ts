// The process-wide stats store, shared by every VM and by the gateway itself, like Envoy's
// ThreadLocalStoreImpl seen from the admin endpoint: stats by full name, one namespace per
// type (a counter and a gauge may share a name), tags extracted once when a stat is created.
//
// Counters and gauges are uint64 as in Envoy: a counter wraps at 2^64; a gauge that is
// decreased below zero wraps too (Envoy only ASSERTs in debug builds; release builds wrap,
// and the admin page then shows 18446744073709551615). `value` is a JS number for
// convenience; `bigValue` is exact.

import { DEFAULT_HISTOGRAM_BUCKETS, HistogramData } from "./histogram.ts";
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

export class Counter implements StatBase {
  private v = 0n;
  used = false;
  constructor(
    readonly name: string,
    readonly tagExtractedName: string,
    readonly tags: readonly Tag[],
  ) {}
  add(n: number | bigint = 1): void {
    this.v = (this.v + toBig(n)) % U64;
    if (this.v < 0n) this.v += U64;
    this.used = true;
  }
  inc(): void {
    this.add(1n);
  }
  get value(): number {
    return Number(this.v);
  }
  get bigValue(): bigint {
    return this.v;
  }
}

export class Gauge implements StatBase {
  private v = 0n;
  used = false;
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
    this.used = true;
  }
  get value(): number {
    return Number(this.v);
  }
  get bigValue(): bigint {
    return this.v;
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
}

export class StatsStore {
  readonly counters = new Map<string, Counter>();
  readonly gauges = new Map<string, Gauge>();
  readonly histograms = new Map<string, Histogram>();
  readonly customNamespaces: ReadonlySet<string>;
  private readonly tagProducer: TagProducer;
  private readonly bucketRules: readonly HistogramBucketSetting[];

  constructor(options: StatsStoreOptions = {}) {
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
  static fromConfig(config: StatsConfig): StatsStore {
    return new StatsStore({
      tagSpecifiers: config.tagSpecifiers,
      useAllDefaultTags: config.useAllDefaultTags,
      histogramBucketSettings: config.histogramBucketSettings,
    });
  }

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (!c) {
      const t = this.tagProducer.produceTags(name);
      c = new Counter(name, t.tagExtractedName, t.tags);
      this.counters.set(name, c);
    }
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (!g) {
      const t = this.tagProducer.produceTags(name);
      g = new Gauge(name, t.tagExtractedName, t.tags);
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
