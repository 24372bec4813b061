// The series this filter emits, as Envoy stats with Istio-style label delimiters in the name
// (`name;.;key=.=value;.;…`); the `stats_tags` in envoy/envoy.yaml turn each pair into a
// Prometheus label. Every full stat name maps to one metric handle, defined on first use and
// cached for the VM's life (lib/runtime's counter()/histogram() maps), never per request.

import { counter, Counter, histogram, Histogram, taggedName } from "../../lib/runtime";
import { AiRecord } from "./record";
import { operationOfPath } from "../../lib/analytics/facts";

// ---- names (Envoy prefixes `wasmcustom.`, which its Prometheus output strips) ----
export const REQUESTS = "ai_llm_requests_total";
export const COST = "ai_llm_cost_nanodollars_total";
export const TOKENS = "ai_llm_tokens_total";
export const LATENCY = "ai_llm_provider_latency_ms";
export const GENAI_TOKENS = "gen_ai.client.token.usage";
export const GENAI_DURATION = "gen_ai.client.operation.duration_milliseconds";

/** Longest label value kept; longer ones are cut (a client chooses the model string). */
export const MAX_LABEL_CHARS = 256;

/**
 * A value that cannot end its label early or break a stat name: ';' and control characters
 * become '_' (a newline would also defeat the stats_tags regex), and it is cut at MAX_LABEL_CHARS.
 */
export function labelValue(s: string): string {
  let clean = true;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7f || c == 0x3b) {
      clean = false;
      break;
    }
  }
  let out = s;
  if (!clean) {
    const parts = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      unchecked((parts[i] = c < 0x20 || c == 0x7f || c == 0x3b ? "_" : String.fromCharCode(c)));
    }
    out = parts.join("");
  }
  if (out.length > MAX_LABEL_CHARS) {
    // Do not split a surrogate pair.
    let cut = MAX_LABEL_CHARS;
    const c = out.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--;
    out = out.substring(0, cut);
  }
  return out;
}

/** "2xx", "4xx", …; "none" when no response was sent (a reset before the headers). */
export function statusClass(status: i64): string {
  if (status < 100 || status > 999) return "none";
  return (status / 100).toString() + "xx";
}

/** OpenTelemetry's gen_ai.provider.name for a Kong provider name (its own name otherwise). */
export function genaiProvider(kong: string): string {
  if (kong == "azure") return "azure.ai.openai";
  if (kong == "mistral") return "mistral_ai";
  if (kong == "gemini") return "gcp.gemini";
  if (kong == "bedrock") return "aws.bedrock";
  if (kong == "UNSPECIFIED") return "";
  return kong;
}

/**
 * gen_ai.operation.name: from ai-proxy's route type when it gives one, else the operation the
 * producer recorded for the :path it sent (when it is one of the three), else from the path
 * (client or provider path, whichever this filter sees): embeddings, text_completion or chat.
 */
export function genaiOperation(routeType: string, operation: string, path: string): string {
  if (routeType == "llm/v1/chat") return "chat";
  if (routeType == "llm/v1/completions") return "text_completion";
  if (routeType == "llm/v1/embeddings") return "embeddings";
  if (operation == "chat" || operation == "text_completion" || operation == "embeddings") return operation;
  return operationOfPath(path);
}

/** Values shared by every series of one label set, already made label-safe. */
export class Labels {
  provider: string = "";
  model: string = "";
  cacheStatus: string = "";
  vectorDb: string = "";
  embeddingsProvider: string = "";
  embeddingsModel: string = "";
  workspace: string = "";
  requestMode: string = "";
  statusClass: string = "";
  // OpenTelemetry
  operation: string = "";
  genaiProvider: string = "";
  requestModel: string = "";
  responseModel: string = "";
  errorType: string = "";

  static of(r: AiRecord, workspace: string, path: string): Labels {
    const l = new Labels();
    const provider = text(r.provider);
    l.provider = labelValue(provider);
    l.model = labelValue(text(r.requestModel));
    l.cacheStatus = labelValue(text(r.cacheStatus));
    l.vectorDb = labelValue(text(r.vectorDb));
    l.embeddingsProvider = labelValue(text(r.embeddingsProvider));
    l.embeddingsModel = labelValue(text(r.embeddingsModel));
    l.workspace = workspace;
    l.requestMode = labelValue(text(r.requestMode));
    l.statusClass = statusClass(r.status);
    l.operation = genaiOperation(text(r.routeType), text(r.operation), path);
    l.genaiProvider = labelValue(genaiProvider(provider));
    l.requestModel = l.model;
    l.responseModel = labelValue(text(r.responseModel));
    // OTel's error.type for HTTP: the status code as text; _OTHER when there was none.
    l.errorType = r.errorType.byteLength > 0 ? labelValue(text(r.errorType)) : r.status >= 200 && r.status < 400 ? "" : r.status == 0 ? "_OTHER" : r.status.toString();
    return l;
  }
}

function text(b: ArrayBuffer): string {
  return String.UTF8.decode(b);
}

// Kong 3.9's label order, then Kong 3.12's request_mode, then this gateway's status_class.
const KONG_KEYS = ["ai_provider", "ai_model", "cache_status", "vector_db", "embeddings_provider", "embeddings_model", "workspace", "request_mode", "status_class"];
// Kong's tokens counter: token_type before workspace, and (as in Kong 3.12) no request_mode.
const TOKEN_KEYS = ["ai_provider", "ai_model", "cache_status", "vector_db", "embeddings_provider", "embeddings_model", "token_type", "workspace"];
// The cost counter: Kong's labels with request_mode, without status_class (only answers cost).
const COST_KEYS = ["ai_provider", "ai_model", "cache_status", "vector_db", "embeddings_provider", "embeddings_model", "workspace", "request_mode"];
const GENAI_TOKEN_KEYS = ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model", "gen_ai.token.type"];
const GENAI_DURATION_KEYS = ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model"];
const GENAI_DURATION_ERROR_KEYS = ["gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.model", "error.type"];

function kongValues(l: Labels): string[] {
  return [l.provider, l.model, l.cacheStatus, l.vectorDb, l.embeddingsProvider, l.embeddingsModel, l.workspace, l.requestMode, l.statusClass];
}

function tokenName(l: Labels, type: string): string {
  return taggedName(TOKENS, TOKEN_KEYS, [l.provider, l.model, l.cacheStatus, l.vectorDb, l.embeddingsProvider, l.embeddingsModel, type, l.workspace]);
}

function genaiTokenName(l: Labels, type: string): string {
  return taggedName(GENAI_TOKENS, GENAI_TOKEN_KEYS, [l.operation, l.genaiProvider, l.requestModel, l.responseModel, type]);
}

/**
 * Every series of one label set: each handle named (and defined with the host) the first time
 * a request needs it, then reused, so a request of a label set already seen builds no name.
 */
export class SeriesSet {
  private requests: Counter | null = null;
  private cost: Counter | null = null;
  private promptTokens: Counter | null = null;
  private completionTokens: Counter | null = null;
  private totalTokens: Counter | null = null;
  private latency: Histogram | null = null;
  private genaiInput: Histogram | null = null;
  private genaiOutput: Histogram | null = null;
  private duration: Histogram | null = null;

  constructor(private readonly l: Labels) {}

  /** Kong's series (`ai_metrics`): requests, cost, tokens by type, provider latency. */
  emitKong(r: AiRecord): void {
    const l = this.l;
    let c = this.requests;
    if (c == null) this.requests = c = counter(taggedName(REQUESTS, KONG_KEYS, kongValues(l)));
    c.increment(1);
    if (r.costNano > 0) {
      let k = this.cost;
      if (k == null) this.cost = k = counter(taggedName(COST, COST_KEYS, [l.provider, l.model, l.cacheStatus, l.vectorDb, l.embeddingsProvider, l.embeddingsModel, l.workspace, l.requestMode]));
      k.increment(<i64>r.costNano);
    }
    // Kong adds each count only when it is positive (an Envoy counter refuses 0 anyway).
    if (r.promptTokens > 0) {
      let t = this.promptTokens;
      if (t == null) this.promptTokens = t = counter(tokenName(l, "prompt_tokens"));
      t.increment(r.promptTokens);
    }
    if (r.completionTokens > 0) {
      let t = this.completionTokens;
      if (t == null) this.completionTokens = t = counter(tokenName(l, "completion_tokens"));
      t.increment(r.completionTokens);
    }
    if (r.totalTokens > 0) {
      let t = this.totalTokens;
      if (t == null) this.totalTokens = t = counter(tokenName(l, "total_tokens"));
      t.increment(r.totalTokens);
    }
    if (r.latencyMs >= 0) {
      let h = this.latency;
      if (h == null) this.latency = h = histogram(taggedName(LATENCY, KONG_KEYS, kongValues(l)));
      h.record(<u64>r.latencyMs);
    }
  }

  /** The OpenTelemetry GenAI client histograms (`genai_metrics`). */
  emitGenai(r: AiRecord): void {
    const l = this.l;
    // gen_ai.token.type has two values; Kong's total is their sum and is not a type.
    if (r.promptTokens > 0) {
      let h = this.genaiInput;
      if (h == null) this.genaiInput = h = histogram(genaiTokenName(l, "input"));
      h.record(<u64>r.promptTokens);
    }
    if (r.completionTokens > 0) {
      let h = this.genaiOutput;
      if (h == null) this.genaiOutput = h = histogram(genaiTokenName(l, "output"));
      h.record(<u64>r.completionTokens);
    }
    if (r.latencyMs >= 0) {
      let h = this.duration;
      if (h == null) {
        const name =
          l.errorType.length == 0
            ? taggedName(GENAI_DURATION, GENAI_DURATION_KEYS, [l.operation, l.genaiProvider, l.requestModel, l.responseModel])
            : taggedName(GENAI_DURATION, GENAI_DURATION_ERROR_KEYS, [l.operation, l.genaiProvider, l.requestModel, l.responseModel, l.errorType]);
        this.duration = h = histogram(name);
      }
      h.record(<u64>r.latencyMs);
    }
  }
}
