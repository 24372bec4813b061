// The stats store with Envoy's tag extraction and admin output formats.
export { StatsStore, Counter, Gauge, Histogram, type StatsStoreOptions, type RenderOptions } from "./store.ts";
export { TagProducer, TagConfigError, extractRegexPrefix, type Tag, type TagSpec } from "./tag-extractor.ts";
export { DEFAULT_HISTOGRAM_BUCKETS, SUPPORTED_QUANTILES } from "./histogram.ts";
export { renderPrometheus, metricName, sanitizeName } from "./prometheus.ts";
export { renderText, renderJson } from "./text.ts";
export { formatG } from "./format.ts";
