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

// Paths serialised once per VM.
const PROVIDER = path("ai.provider_name");
const REQUEST_MODEL = path("ai.request_model");
const RESPONSE_MODEL = path("ai.response_model");
const REQUEST_MODE = path("ai.request_mode");
const ROUTE_TYPE = path("ai.route_type");
const PROMPT_TOKENS = path("ai.prompt_tokens");
const COMPLETION_TOKENS = path("ai.completion_tokens");
const TOTAL_TOKENS = path("ai.total_tokens");
const LLM_LATENCY = path("ai.llm_latency");
const COST = path("ai.cost");
const STATUS = path("ai.status");
const CACHE_STATUS = path("ai.cache_status");
const VECTOR_DB = path("ai.vector_db");
const EMBEDDINGS_PROVIDER = path("ai.embeddings_provider");
const EMBEDDINGS_MODEL = path("ai.embeddings_model");
const RESPONSE_CODE = path("response\0code");
const ERROR_TYPE = path("ai.error_type");

function raw(p: ArrayBuffer): ArrayBuffer {
  const v = property(p);
  return v != null ? v : EMPTY;
}

/**
 * Reads the record; null when ai-proxy wrote none (the stream did not go through ai-proxy,
 * so it is not an AI request). Call from on_log, after ai-proxy has written it.
 */
export function readRecord(): AiRecord | null {
  const provider = property(PROVIDER);
  if (provider == null) return null;
  const r = new AiRecord();
  r.provider = provider;
  r.requestModel = raw(REQUEST_MODEL);
  r.responseModel = raw(RESPONSE_MODEL);
  r.requestMode = raw(REQUEST_MODE);
  r.routeType = raw(ROUTE_TYPE);
  r.promptTokens = countOf(property(PROMPT_TOKENS));
  r.completionTokens = countOf(property(COMPLETION_TOKENS));
  r.totalTokens = countOf(property(TOTAL_TOKENS));
  r.latencyMs = countOf(property(LLM_LATENCY));
  const cost = property(COST);
  r.costNano = cost != null ? parseCostNano(String.UTF8.decode(cost)) : 0;
  // The status the client got; a later filter may have changed ai-proxy's.
  const code = property(RESPONSE_CODE); // an int64, 8 bytes little-endian
  let status: i64 = code != null && code.byteLength == 8 ? load<i64>(changetype<usize>(code)) : -1;
  if (status < 0) status = countOf(property(STATUS));
  r.status = status > 0 && status < 1000 ? status : 0;
  // A 2xx the upstream broke (a stream cut before its end marker, an error event, an empty
  // body) is counted as the gateway's 502: the client got no usable answer.
  r.errorType = raw(ERROR_TYPE);
  if (r.errorType.byteLength > 0 && r.status >= 200 && r.status < 400) r.status = 502;
  r.cacheStatus = raw(CACHE_STATUS);
  r.vectorDb = raw(VECTOR_DB);
  r.embeddingsProvider = raw(EMBEDDINGS_PROVIDER);
  r.embeddingsModel = raw(EMBEDDINGS_MODEL);
  return r;
}
