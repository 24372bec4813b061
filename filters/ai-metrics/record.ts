// Reads ai-proxy's per-request facts: from `ai.facts` (lib/analytics/facts.ts; countsFromFacts,
// labelsFromFacts), or, when a producer wrote only them, from the individual `ai.*` keys
// (readRecord), which ai-proxy writes as plain text for every request it handled, whether or
// not `logging.log_statistics` is on. Values are untrusted: every number read from a key is
// parsed strictly and a bad one reads as absent. Label values stay raw bytes: they only become
// strings the first time their label set is seen (see series.ts, SeriesCache).

import { L_ERROR_TYPE, L_OPERATION, labelAt, parseCostNano, R_COMPLETION, R_COST, R_LATENCY, R_PROMPT, R_STATUS, R_TOTAL } from "../../lib/analytics/facts";
import { countOf, path, property, responseCode } from "./facts";

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
  /** The operation the producer derived from the :path it sent (`ai.facts` only); empty when unknown. */
  operation: ArrayBuffer = EMPTY;
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
  let status = responseCode();
  if (status < 0) status = countOf(property(k.status));
  r.errorType = raw(k.errorType);
  r.status = countedStatus(status, r.errorType.byteLength > 0);
  r.cacheStatus = raw(k.cacheStatus);
  r.vectorDb = raw(k.vectorDb);
  r.embeddingsProvider = raw(k.embeddingsProvider);
  r.embeddingsModel = raw(k.embeddingsModel);
  return r;
}


/** The status counted: 0 when none or out of range, and a broken 2xx/3xx answer as 502. */
function countedStatus(status: i64, broken: bool): i64 {
  const s = status > 0 && status < 1000 ? status : 0;
  // A 2xx the upstream broke (a stream cut before its end marker, an error event, an empty
  // body) is counted as the gateway's 502: the client got no usable answer.
  return broken && s >= 200 && s < 400 ? 502 : s;
}

/**
 * Fills `r`'s counts and status from the record payload at `at` (lib/analytics/facts.ts, a
 * validated one), given the response code (-1 = unknown). Label fields are left alone: they
 * are decoded only for a label set not seen before (labelsFromFacts).
 */
export function countsFromFacts(r: AiRecord, at: usize, code: i64): void {
  r.promptTokens = load<i64>(at + R_PROMPT);
  r.completionTokens = load<i64>(at + R_COMPLETION);
  r.totalTokens = load<i64>(at + R_TOTAL);
  r.latencyMs = load<i64>(at + R_LATENCY);
  r.costNano = load<u64>(at + R_COST);
  const broken = load<u32>(labelAt(at, L_ERROR_TYPE)) > 0;
  r.status = countedStatus(code >= 0 ? code : load<i64>(at + R_STATUS), broken);
}

function bytesAt(p: usize): ArrayBuffer {
  const n = load<u32>(p);
  const b = new ArrayBuffer(<i32>n);
  memory.copy(changetype<usize>(b), p + 4, n);
  return b;
}

/** Fills `r`'s label fields from the record payload at `at`. */
export function labelsFromFacts(r: AiRecord, at: usize): void {
  r.provider = bytesAt(labelAt(at, 0));
  r.requestModel = bytesAt(labelAt(at, 1));
  r.responseModel = bytesAt(labelAt(at, 2));
  r.requestMode = bytesAt(labelAt(at, 3));
  r.routeType = bytesAt(labelAt(at, 4));
  r.cacheStatus = bytesAt(labelAt(at, 5));
  r.vectorDb = bytesAt(labelAt(at, 6));
  r.embeddingsProvider = bytesAt(labelAt(at, 7));
  r.embeddingsModel = bytesAt(labelAt(at, 8));
  r.errorType = bytesAt(labelAt(at, L_ERROR_TYPE));
  r.operation = bytesAt(labelAt(at, L_OPERATION));
}
