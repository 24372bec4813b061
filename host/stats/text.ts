// /stats (text) and /stats?format=json as Envoy prints them (stats_render.cc): counters and
// gauges together as `name: value` sorted by name, then histograms sorted by name, each as
// Envoy's quantile summary `P0(interval,cumulative) P25(..) ...` or `No recorded values`.
// Simplification: the local gateway has no stats flush, so there are no interval
// statistics; the interval half always prints `nan` (JSON: null), as Envoy does before its
// first flush. The cumulative half uses circllhist's quantile arithmetic.

import type { StatsStore } from "./store.ts";
import { shouldShow, type RenderOptions } from "./render-options.ts";
import { compareBytes, formatG, formatShortest } from "./format.ts";
import { SUPPORTED_QUANTILES } from "./histogram.ts";

function numericStats(store: StatsStore, options: RenderOptions): [string, bigint][] {
  const all = new Map<string, bigint>();
  for (const c of store.counters.values()) if (shouldShow(c, options)) all.set(c.name, c.bigValue);
  for (const g of store.gauges.values()) if (shouldShow(g, options) && !all.has(g.name)) all.set(g.name, g.bigValue);
  return [...all.entries()].sort(([a], [b]) => compareBytes(a, b));
}

function histograms(store: StatsStore, options: RenderOptions) {
  return [...store.histograms.values()].filter((h) => shouldShow(h, options)).sort((a, b) => compareBytes(a.name, b.name));
}

export function renderText(store: StatsStore, options: RenderOptions = {}): string {
  const out: string[] = [];
  for (const [name, v] of numericStats(store, options)) out.push(`${name}: ${v}\n`);
  for (const h of histograms(store, options)) {
    if (!h.used) {
      out.push(`${h.name}: No recorded values\n`);
      continue;
    }
    const q = h.data.quantiles();
    const parts = SUPPORTED_QUANTILES.map((p, i) => `P${formatG(100 * p, 6)}(nan,${formatShortest(q[i]!)})`);
    out.push(`${h.name}: ${parts.join(" ")}\n`);
  }
  return out.join("");
}

function jsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function renderJson(store: StatsStore, options: RenderOptions = {}): string {
  const stats: unknown[] = numericStats(store, options).map(([name, v]) => ({ name, value: Number(v) }));
  const hs = histograms(store, options);
  if (hs.length > 0) {
    stats.push({
      histograms: {
        supported_quantiles: SUPPORTED_QUANTILES.map((p) => Number(formatG(100 * p, 6))),
        computed_quantiles: hs.map((h) => ({
          name: h.name,
          values: h.data.quantiles().map((c) => ({ interval: null, cumulative: jsonNumber(c) })),
        })),
      },
    });
  }
  return JSON.stringify({ stats });
}
