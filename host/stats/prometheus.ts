// /stats/prometheus exactly as Envoy prints it (source/server/admin/prometheus_stats_formatter.cc,
// prometheus_stats_render.cc, grouped_stats_request.cc):
//  - counters, then gauges, then histograms; within a type, one group per tag-extracted
//    name in std::string order, each opened by `# TYPE <name> <type>`, its series sorted by
//    full stat name (token by token, as the symbol table sorts);
//  - the metric name is the tag-extracted name with [^a-zA-Z0-9_] turned into "_" and
//    "envoy_" in front, except under a registered custom namespace ("wasmcustom."), which
//    is stripped and gets no prefix; such a name that ends up empty or starting with a
//    digit is left out (envoy PR #17357);
//  - labels keep tag order; names are sanitized the same way, values escape \ " and newline;
//  - a series with no tags still prints `{}`; counters get no `_total` suffix;
//  - histogram buckets print with fmt "{:.32g}", then le="+Inf", _sum ({:.32g}) and _count.

import type { Tag } from "./tag-extractor.ts";
import type { Counter, Gauge, Histogram, StatsStore } from "./store.ts";
import { shouldShow, type RenderOptions } from "./render-options.ts";
import { compareBytes, compareStatNames, formatG } from "./format.ts";

export function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, "_");
}

function sanitizeValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

export function formattedTags(tags: readonly Tag[]): string {
  return tags.map((t) => `${sanitizeName(t.name)}="${sanitizeValue(t.value)}"`).join(",");
}

/** PrometheusStatsFormatter::metricName; null when the stat cannot be exposed. */
export function metricName(tagExtractedName: string, customNamespaces: ReadonlySet<string>): string | null {
  const dot = tagExtractedName.indexOf(".");
  if (dot >= 0 && customNamespaces.has(tagExtractedName.slice(0, dot))) {
    const s = sanitizeName(tagExtractedName.slice(dot + 1));
    if (s === "" || /^[0-9]/.test(s)) return null;
    return s;
  }
  return `envoy_${sanitizeName(tagExtractedName)}`;
}

type AnyStat = Counter | Gauge | Histogram;

function groups<T extends AnyStat>(stats: Iterable<T>, options: RenderOptions): [string, T[]][] {
  const byName = new Map<string, T[]>();
  for (const s of stats) {
    if (!shouldShow(s, options)) continue;
    const list = byName.get(s.tagExtractedName);
    if (list) list.push(s);
    else byName.set(s.tagExtractedName, [s]);
  }
  const out = [...byName.entries()].sort(([a], [b]) => compareBytes(a, b));
  for (const [, list] of out) list.sort((a, b) => compareStatNames(a.name, b.name));
  return out;
}

function numericLines(out: string[], stats: Iterable<Counter | Gauge>, type: string, store: StatsStore, options: RenderOptions): void {
  for (const [extracted, list] of groups(stats, options)) {
    const name = metricName(extracted, store.customNamespaces);
    if (name === null) continue;
    out.push(`# TYPE ${name} ${type}\n`);
    for (const s of list) out.push(`${name}{${formattedTags(s.tags)}} ${s.bigValue}\n`);
  }
}

function histogramLines(out: string[], h: Histogram, name: string): void {
  const tags = formattedTags(h.tags);
  const histTags = h.tags.length === 0 ? "" : `${tags},`;
  const counts = h.data.computedBuckets(h.buckets);
  h.buckets.forEach((b, i) => out.push(`${name}_bucket{${histTags}le="${formatG(b, 32)}"} ${counts[i]}\n`));
  const count = h.data.sampleCount;
  out.push(`${name}_bucket{${histTags}le="+Inf"} ${count}\n`);
  out.push(`${name}_sum{${tags}} ${formatG(h.data.sampleSum, 32)}\n`);
  out.push(`${name}_count{${tags}} ${count}\n`);
}

export function renderPrometheus(store: StatsStore, options: RenderOptions = {}): string {
  const out: string[] = [];
  numericLines(out, store.counters.values(), "counter", store, options);
  numericLines(out, store.gauges.values(), "gauge", store, options);
  for (const [extracted, list] of groups(store.histograms.values(), options)) {
    const name = metricName(extracted, store.customNamespaces);
    if (name === null) continue;
    out.push(`# TYPE ${name} histogram\n`);
    for (const h of list) histogramLines(out, h, name);
  }
  return out.join("");
}
