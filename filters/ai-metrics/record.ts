// Reads ai-proxy's per-request facts from filter state (lib/analytics/record.ts): the
// individual `ai.*` keys, which ai-proxy writes as plain text for every request it handled,
// whether or not `logging.log_statistics` is on. Values are untrusted text: every number is
// parsed strictly and a bad one reads as absent.

import { getPropertyInt, getPropertyString } from "../../lib/runtime";

/** One request's facts. Counts are -1 when absent or unreadable. */
export class AiRecord {
  provider: string = "";
  requestModel: string = "";
  responseModel: string = "";
  /** "oneshot" or "stream" (Kong 3.12's request_mode). */
  requestMode: string = "";
  /** ai-proxy's route type (`llm/v1/chat`, …) when it writes one; "" otherwise. */
  routeType: string = "";
  promptTokens: i64 = -1;
  completionTokens: i64 = -1;
  totalTokens: i64 = -1;
  latencyMs: i64 = -1;
  /** Cost in nano-dollars (usage.cost × 1e9, rounded); 0 when absent. */
  costNano: u64 = 0;
  /** The status sent downstream (response.code), else ai-proxy's; 0 = no response. */
  status: i64 = 0;
  /** ai-proxy's `ai.error_type`: a 2xx whose answer failed on the way (a broken stream or body); "" otherwise. */
  errorType: string = "";
  // Semantic-cache facts (Kong's cache labels); no filter of this gateway writes them yet.
  cacheStatus: string = "";
  vectorDb: string = "";
  embeddingsProvider: string = "";
  embeddingsModel: string = "";
}

function text(key: string): string {
  const v = getPropertyString([key]);
  return v != null ? v : "";
}

/** A non-negative decimal integer, or -1. */
export function parseCount(s: string): i64 {
  const n = s.length;
  if (n == 0 || n > 18) return -1; // 18 digits always fit in i64
  let v: i64 = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}

function count(key: string): i64 {
  const v = getPropertyString([key]);
  return v != null ? parseCount(v) : -1;
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
 * Reads the record; null when ai-proxy wrote none (the stream did not go through ai-proxy,
 * so it is not an AI request). Call from on_log, after ai-proxy has written it.
 */
export function readRecord(): AiRecord | null {
  const provider = getPropertyString(["ai.provider_name"]);
  if (provider == null) return null;
  const r = new AiRecord();
  r.provider = provider;
  r.requestModel = text("ai.request_model");
  r.responseModel = text("ai.response_model");
  r.requestMode = text("ai.request_mode");
  r.routeType = text("ai.route_type");
  r.promptTokens = count("ai.prompt_tokens");
  r.completionTokens = count("ai.completion_tokens");
  r.totalTokens = count("ai.total_tokens");
  r.latencyMs = count("ai.llm_latency");
  const cost = getPropertyString(["ai.cost"]);
  r.costNano = cost != null ? parseCostNano(cost) : 0;
  // The status the client got; a later filter may have changed ai-proxy's.
  let status = getPropertyInt(["response", "code"], -1);
  if (status < 0) status = count("ai.status");
  r.status = status > 0 && status < 1000 ? status : 0;
  // A 2xx the upstream broke (a stream cut before its end marker, an error event, an empty
  // body) is counted as the gateway's 502: the client got no usable answer.
  r.errorType = text("ai.error_type");
  if (r.errorType.length > 0 && r.status >= 200 && r.status < 400) r.status = 502;
  r.cacheStatus = text("ai.cache_status");
  r.vectorDb = text("ai.vector_db");
  r.embeddingsProvider = text("ai.embeddings_provider");
  r.embeddingsModel = text("ai.embeddings_model");
  return r;
}
