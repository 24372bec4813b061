// Reads ai-proxy's per-request facts from filter state (lib/analytics/record.ts): the
// individual `ai.*` keys, which ai-proxy writes as plain text for every request it handled,
// whether or not `logging.log_statistics` is on. Values are untrusted text: every number is
// parsed strictly and a bad one reads as absent. Label values stay raw bytes: they only
// become strings the first time their label set is seen (see series.ts, SeriesCache).

import { countOf, path, property } from "./facts";

const EMPTY = new ArrayBuffer(0);

/** One request's facts. Counts are -1 when absent or unreadable; label values are raw UTF-8. */
export class AiRecord {
  provider: ArrayBuffer = EMPTY;
  requestModel: ArrayBuffer = EMPTY;
  responseModel: ArrayBuffer = EMPTY;
  /** "oneshot" or "stream" (Kong 3.12's request_mode). */
  requestMode: ArrayBuffer = EMPTY;
  /** ai-proxy's route type (`llm/v1/chat`, …) when it writes one; empty otherwise. */
  routeType: ArrayBuffer = EMPTY;
  // Semantic-cache facts (Kong's cache labels); no filter of this gateway writes them yet.
  cacheStatus: ArrayBuffer = EMPTY;
  vectorDb: ArrayBuffer = EMPTY;
  embeddingsProvider: ArrayBuffer = EMPTY;
  embeddingsModel: ArrayBuffer = EMPTY;
  promptTokens: i64 = -1;
  completionTokens: i64 = -1;
  totalTokens: i64 = -1;
  latencyMs: i64 = -1;
  /** Cost in nano-dollars (usage.cost × 1e9, rounded); 0 when absent. */
  costNano: u64 = 0;
  /** The status sent downstream (response.code), else ai-proxy's; 0 = no response. */
  status: i64 = 0;
  /** ai-proxy's `ai.error_type`: a 2xx whose answer failed on the way (a broken stream or body); empty otherwise. */
  errorType: ArrayBuffer = EMPTY;
}

/** A non-negative decimal integer, or -1. */
export function parseCount(s: string): i64 {
  return countOf(String.UTF8.encode(s));
}

// Largest cost carried: 1.8e10 dollars in nano-dollars still fits in u64.
const MAX_NANO: f64 = 1.8e19;

/**
 * A dollar amount as text (`0.00037`, `3.7e-7`) to nano-dollars, rounded to the nearest one;
 * 0 for anything that is not a plain non-negative finite number.
 */
export function parseCostNano(s: string): u64 {
  if (s.length == 0 || s.length > 64) return 0;
  // Only digits, one '.', and an exponent: parseFloat alone would accept "12abc" as 12.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x65 || c == 0x45 || c == 0x2d || c == 0x2b;
    if (!ok) return 0;
  }
  const c0 = s.charCodeAt(0);
  if (c0 == 0x2d || c0 == 0x2b) return 0;
  const v = parseFloat(s);
  if (!isFinite(v) || v <= 0) return 0;
  const nano = Math.round(v * 1e9);
  if (nano >= MAX_NANO) return 0;
  return <u64>nano;
}

/**
 * One writer's keys as paths serialised once per VM: ai-proxy's (`ai.*`) or a transformer's
 * LLM call (`ai.ai-request-transformer.*`, lib/analytics AnalyticsKeys).
 */
export class RecordPaths {
  provider: ArrayBuffer;
  requestModel: ArrayBuffer;
  responseModel: ArrayBuffer;
  requestMode: ArrayBuffer;
  routeType: ArrayBuffer;
  promptTokens: ArrayBuffer;
  completionTokens: ArrayBuffer;
  totalTokens: ArrayBuffer;
  llmLatency: ArrayBuffer;
  cost: ArrayBuffer;
  status: ArrayBuffer;
  cacheStatus: ArrayBuffer;
  vectorDb: ArrayBuffer;
  embeddingsProvider: ArrayBuffer;
  embeddingsModel: ArrayBuffer;
  errorType: ArrayBuffer;

  constructor(prefix: string) {
    this.provider = path(prefix + "provider_name");
    this.requestModel = path(prefix + "request_model");
    this.responseModel = path(prefix + "response_model");
    this.requestMode = path(prefix + "request_mode");
    this.routeType = path(prefix + "route_type");
    this.promptTokens = path(prefix + "prompt_tokens");
    this.completionTokens = path(prefix + "completion_tokens");
    this.totalTokens = path(prefix + "total_tokens");
    this.llmLatency = path(prefix + "llm_latency");
    this.cost = path(prefix + "cost");
    this.status = path(prefix + "status");
    this.cacheStatus = path(prefix + "cache_status");
    this.vectorDb = path(prefix + "vector_db");
    this.embeddingsProvider = path(prefix + "embeddings_provider");
    this.embeddingsModel = path(prefix + "embeddings_model");
    this.errorType = path(prefix + "error_type");
  }
}

/** ai-proxy's record. */
export const PROXY_RECORD = new RecordPaths("ai.");
/**
 * Every record a stream may carry: ai-proxy's and each transformer's LLM call. Kong's exporter
 * likewise counts every entry of the `ai` log table.
 */
export const RECORDS: RecordPaths[] = [PROXY_RECORD, new RecordPaths("ai.ai-request-transformer."), new RecordPaths("ai.ai-response-transformer.")];
const RESPONSE_CODE = path("response\0code");

function raw(p: ArrayBuffer): ArrayBuffer {
  const v = property(p);
  return v != null ? v : EMPTY;
}

/**
 * Reads the record at `k`; null when none was written (the stream did not go through ai-proxy,
 * so it is not an AI request). Call from on_log, after ai-proxy has written it.
 */
export function readRecord(k: RecordPaths = PROXY_RECORD): AiRecord | null {
  const provider = property(k.provider);
  if (provider == null) return null;
  const r = new AiRecord();
  r.provider = provider;
  r.requestModel = raw(k.requestModel);
  r.responseModel = raw(k.responseModel);
  r.requestMode = raw(k.requestMode);
  r.routeType = raw(k.routeType);
  r.promptTokens = countOf(property(k.promptTokens));
  r.completionTokens = countOf(property(k.completionTokens));
  r.totalTokens = countOf(property(k.totalTokens));
  r.latencyMs = countOf(property(k.llmLatency));
  const cost = property(k.cost);
  r.costNano = cost != null ? parseCostNano(String.UTF8.decode(cost)) : 0;
  // The status the client got; a later filter may have changed ai-proxy's.
  const code = property(RESPONSE_CODE); // an int64, 8 bytes little-endian
  let status: i64 = code != null && code.byteLength == 8 ? load<i64>(changetype<usize>(code)) : -1;
  if (status < 0) status = countOf(property(k.status));
  r.status = status > 0 && status < 1000 ? status : 0;
  // A 2xx the upstream broke (a stream cut before its end marker, an error event, an empty
  // body) is counted as the gateway's 502: the client got no usable answer.
  r.errorType = raw(k.errorType);
  if (r.errorType.byteLength > 0 && r.status >= 200 && r.status < 400) r.status = 502;
  r.cacheStatus = raw(k.cacheStatus);
  r.vectorDb = raw(k.vectorDb);
  r.embeddingsProvider = raw(k.embeddingsProvider);
  r.embeddingsModel = raw(k.embeddingsModel);
  return r;
}

