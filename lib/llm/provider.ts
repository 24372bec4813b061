// The Provider contract: every file in lib/llm/providers/ extends Provider. lib/llm knows
// provider wire formats and nothing of the proxy-wasm ABI; filters/ai-proxy does the I/O:
//
//   on_configure      provider = providerFor(model)      (providers/index.ts)
//                     provider.validate(route)           -> refuse config naming the field
//   request headers   provider.target(route)             -> :authority, :path (+ query)
//                     provider.requestHeaders(route)     -> extra upstream headers
//   request body      the filter validates the OpenAI body into an LlmRequest, then
//                     provider.translateRequest(req)     -> upstream body or a 400 message
//   response          status 200, not streaming: provider.translateResponse(req, body)
//                     status != 200:             provider.translateError(status, body)
//                     streaming:   t = provider.newStreamTranslator(req); t.push(chunk, eos)
//
// Rules for implementers: never trap (check every JSON read with lib/json helpers, every
// index), never buffer a whole stream (keep only the unfinished event), write output with
// JsonWriter (lib/llm/json-writer.ts) and the OpenAI shapes in lib/llm/format.ts.

import { JSON } from "json-as";
import { ByteBuilder } from "./json-writer";
import { genericError } from "./errors";
import { parseObject, parseValidatedObject } from "../json/read";
import { decodeJsonString, Member, scanObject } from "./json-scan";
import { makeId } from "./format";

// ---------------------------------------------------------------------------------------
// Route types and configuration

/** Kong's `route_type`. */
export enum RouteType {
  Chat = 0,
  Completions = 1,
  Embeddings = 2,
  Preserve = 3,
}

/** "llm/v1/chat" and so on. */
export function routeTypeName(r: RouteType): string {
  if (r == RouteType.Chat) return "llm/v1/chat";
  if (r == RouteType.Completions) return "llm/v1/completions";
  if (r == RouteType.Embeddings) return "llm/v1/embeddings";
  return "preserve";
}

/** The RouteType for a config value, or -1 when unknown. */
export function parseRouteType(s: string): i32 {
  if (s == "llm/v1/chat") return RouteType.Chat;
  if (s == "llm/v1/completions") return RouteType.Completions;
  if (s == "llm/v1/embeddings") return RouteType.Embeddings;
  if (s == "preserve") return RouteType.Preserve;
  return -1;
}

/** Integer options use this when unset. Number options use NaN, strings "". */
export const UNSET: i64 = -1;

/** `model.options` (Kong names in the comments). Unset: UNSET, NaN or "". */
export class ModelOptions {
  maxTokens: i64 = UNSET; // max_tokens
  temperature: f64 = NaN; // temperature
  topP: f64 = NaN; // top_p
  topK: i64 = UNSET; // top_k
  upstreamUrl: string = ""; // upstream_url: full URL; its path is used as is
  upstreamPath: string = ""; // upstream_path: replaces the path
  anthropicVersion: string = ""; // anthropic_version
  azureInstance: string = ""; // azure_instance
  azureDeploymentId: string = ""; // azure_deployment_id
  azureApiVersion: string = "2023-05-15"; // azure_api_version
  mistralFormat: string = ""; // mistral_format: openai | ollama
  llama2Format: string = ""; // llama2_format: raw | openai | ollama
  inputCost: f64 = NaN; // input_cost, per 1M tokens
  outputCost: f64 = NaN; // output_cost, per 1M tokens
}

/** `model`: provider, name ("" = take it from the request) and options. */
export class ModelConfig {
  provider: string = "";
  name: string = "";
  options: ModelOptions = new ModelOptions();
}

/** A header name and value (lib/llm does not use the ABI's HeaderPair). */
export class Header {
  constructor(
    public name: string,
    public value: string,
  ) {}
}

/** Where the upstream request goes. */
export class UpstreamTarget {
  constructor(
    /** "http" or "https". The Envoy cluster decides TLS; this is informational. */
    public scheme: string,
    /** host[:port] for :authority (and Host). */
    public authority: string,
    /** Path without query, e.g. "/v1/chat/completions". */
    public path: string,
    /** Query parameters the provider adds unless the client sent the same name (Azure api-version). */
    public query: Header[],
  ) {}
}

// ---------------------------------------------------------------------------------------
// Request

/** The raw body of a request not yet given one (never written to: shared). */
const NO_BYTES = new Uint8Array(0);
const NO_QUERY = new Array<Header>();

/**
 * The client's request after the filter validated it as the OpenAI format for its route
 * (chat: non-empty `messages` of objects with a known role; completions: `prompt`;
 * embeddings: `input`). The tuning fields hold the effective values: the request's own,
 * or else the configured option (UNSET/NaN when neither).
 */
export class LlmRequest {
  route: RouteType = RouteType.Chat;
  private rawBytes: Uint8Array = NO_BYTES;
  private parsed: JSON.Obj | null = null;
  private rawValidated: bool = false;
  /** Top-level member spans recorded while validating (4 offsets per member), or null. */
  private rawSpans: Array<i32> | null = null;
  private memberList: Member[] | null = null;
  private membersDone: bool = false;

  /** The client body exactly as received (valid JSON). */
  get raw(): Uint8Array {
    return this.rawBytes;
  }

  set raw(b: Uint8Array) {
    this.rawBytes = b;
    this.rawValidated = false;
    this.rawSpans = null;
    this.memberList = null;
    this.membersDone = false;
  }

  /**
   * The top-level members of `raw` (json-scan's view: decoded keys, byte spans), or null
   * when raw is not an object. Computed once, from the validator's spans when it left them.
   */
  members(): Member[] | null {
    if (!this.membersDone) {
      const sp = this.rawSpans;
      const raw = this.rawBytes;
      if (sp != null) {
        const out = new Array<Member>();
        for (let i = 0; i + 3 < sp.length; i += 4) {
          const ks = unchecked(sp[i]);
          const ke = unchecked(sp[i + 1]);
          out.push(new Member(decodeJsonString(raw, ks, ke), ks, ke, unchecked(sp[i + 2]), unchecked(sp[i + 3])));
        }
        this.memberList = out;
      } else {
        this.memberList = scanObject(raw);
      }
      this.membersDone = true;
    }
    return this.memberList;
  }

  /**
   * The top-level member spans the validator recorded (4 offsets a member: raw key literal,
   * value), or null when `raw` was set without them. Read-only.
   */
  get validatedSpans(): Array<i32> | null {
    return this.rawSpans;
  }

  /**
   * The parsed client body. Read it with lib/json's checked getters. Parsed from `raw` on
   * first use: providers that copy the raw bytes (OpenAI format) never pay for the tree.
   */
  get body(): JSON.Obj {
    let o = this.parsed;
    if (o == null) {
      if (this.rawValidated) o = parseValidatedObject(this.rawBytes);
      else {
        const p = parseObject(this.rawBytes);
        o = p.value;
      }
      if (o == null) o = new JSON.Obj();
      this.parsed = o;
    }
    return o;
  }

  set body(o: JSON.Obj) {
    this.parsed = o;
  }

  /**
   * Sets `raw` to bytes that passed validateJson as an object (so body can skip validating
   * again), with the top-level member spans validateJsonMembers recorded.
   */
  setValidatedRaw(raw: Uint8Array, spans: Array<i32>): void {
    this.raw = raw;
    this.parsed = null;
    this.rawValidated = true;
    this.rawSpans = spans;
  }
  /** The model to call: configured `model.name`, or the request's `model`. */
  model: string = "";
  /** The upstream response will stream (client `stream: true`, or response_streaming=always). */
  stream: bool = false;
  /** The client itself asked for `stream_options.include_usage`. */
  clientIncludeUsage: bool = false;
  maxTokens: i64 = UNSET;
  temperature: f64 = NaN;
  topP: f64 = NaN;
  topK: i64 = UNSET;
  /** Seconds since the epoch when the request arrived (for `created`). */
  created: i64 = 0;
  private idValue: string | null = "";
  private idPrefix: string = "";

  /** A fresh id the provider may use when the upstream gives none ("chatcmpl-..."). */
  get requestId(): string {
    let id = this.idValue;
    if (id == null) {
      id = makeId(this.idPrefix);
      this.idValue = id;
    }
    return id;
  }

  set requestId(id: string) {
    this.idValue = id;
  }

  /** requestId becomes a fresh `prefix…` id, made on first read: an answer passed through as is never needs one. */
  freshIdOnRead(prefix: string): void {
    this.idValue = null;
    this.idPrefix = prefix;
  }
  /**
   * The query parameters the upstream request carries (after the client's and defaultQuery's
   * merge), e.g. Azure's api-version. Read only: the default is one shared empty list (the
   * request sets its own), not one per request.
   */
  upstreamQuery: Header[] = NO_QUERY;

  /** The value of an upstream query parameter, or null. */
  queryParam(name: string): string | null {
    for (let i = 0; i < this.upstreamQuery.length; i++) {
      const h = unchecked(this.upstreamQuery[i]);
      if (h.name == name) return h.value;
    }
    return null;
  }
}

/** translateRequest's result: the upstream body, or an error for a 400 reply. */
export class TranslatedRequest {
  /**
   * The translator knows `body` has no top-level `api_key` member (the client's own key, which
   * the filter otherwise looks for and drops): saves the filter a walk over the body.
   */
  noClientKey: bool = false;

  constructor(
    public body: Uint8Array | null,
    /** Why the request cannot be translated; sent as a 400 in the OpenAI error shape. */
    public error: string | null,
  ) {}

  static ok(body: Uint8Array): TranslatedRequest {
    return new TranslatedRequest(body, null);
  }
  static fail(message: string): TranslatedRequest {
    return new TranslatedRequest(null, message);
  }
}

// ---------------------------------------------------------------------------------------
// Usage and response

/** Token counts; -1 when the provider did not report them. */
export class Usage {
  promptTokens: i64 = -1;
  completionTokens: i64 = -1;
  totalTokens: i64 = -1;

  /** True once any count is known. */
  get known(): bool {
    return this.promptTokens >= 0 || this.completionTokens >= 0 || this.totalTokens >= 0;
  }

  /** Fills total from prompt + completion when the provider gave none. */
  complete(): void {
    if (this.totalTokens < 0 && (this.promptTokens >= 0 || this.completionTokens >= 0)) {
      this.totalTokens = max<i64>(this.promptTokens, 0) + max<i64>(this.completionTokens, 0);
    }
  }
}

/** translateResponse's result: the OpenAI-shaped body and what the analytics need. */
export class TranslatedResponse {
  /** The OpenAI-shaped body; null on failure. */
  body: Uint8Array | null = null;
  /** Why the upstream body could not be translated (the filter answers 500 with it). */
  error: string | null = null;
  usage: Usage = new Usage();
  /** The model the upstream says answered ("" = unknown: the request model is used). */
  model: string = "";

  static fail(message: string): TranslatedResponse {
    const r = new TranslatedResponse();
    r.error = message;
    return r;
  }
}

// ---------------------------------------------------------------------------------------
// Streaming

/**
 * Turns an upstream streaming body into OpenAI SSE (`data: {chat.completion.chunk}\n\n`,
 * ended by `data: [DONE]\n\n`). push() gets each body chunk as it arrives, split at any
 * byte, and returns what to send to the client now (possibly empty). Keep only the
 * unfinished event between calls. See sse.ts / ndjson.ts for the splitters and
 * format.ts for writeChatChunk/writeDone/writeStreamError.
 */
export abstract class StreamTranslator {
  usage: Usage = new Usage();
  /** The model the upstream stream names ("" = unknown). */
  model: string = "";
  /** True once `data: [DONE]` has been written (or the stream ended with an error frame). */
  finished: bool = false;
  /** True when the upstream stream could not be translated; an error frame was written. */
  failed: bool = false;
  /** Why it failed (the error frame's message); "" when it did not. */
  error: string = "";
  /**
   * When set (log_payloads), implementations append the generated text here so the
   * filter can log the assembled response. Null: do not collect.
   */
  text: ByteBuilder | null = null;

  /** Translates one chunk. `eos`: this is the last chunk (flush, then write [DONE] if not yet). */
  abstract push(chunk: Uint8Array, eos: bool): Uint8Array;
}

// ---------------------------------------------------------------------------------------
// Provider

const NO_HEADERS = new Array<Header>();

export abstract class Provider {
  constructor(public readonly config: ModelConfig) {}

  /** The provider's config name ("openai", "azure", ...): analytics provider_name and the model header. */
  get name(): string {
    return this.config.provider;
  }

  /**
   * Checks the configuration for this route type at on_configure. Returns null when
   * usable, else a message naming the field, e.g. "model.options.anthropic_version is
   * required for provider anthropic". Route types the provider cannot serve are refused
   * here too.
   */
  validate(route: RouteType): string | null {
    if (this.defaultPath(route) == null && this.config.options.upstreamUrl.length == 0 && route != RouteType.Preserve) {
      return "route_type " + routeTypeName(route) + " is not supported by provider " + this.name + " without model.options.upstream_url";
    }
    return null;
  }

  /** The default base URL without a trailing slash, e.g. "https://api.openai.com:443"; may include a path prefix. */
  abstract defaultBaseUrl(): string;

  /** The default path for a route type (appended to the base URL), or null when unsupported. */
  abstract defaultPath(route: RouteType): string | null;

  /** Query parameters the provider needs (Azure's api-version); the client's value for the same name wins. */
  defaultQuery(route: RouteType): Header[] {
    return [];
  }

  /**
   * Where the request goes: upstream_url (its path used as is) or the default base URL
   * plus defaultPath(route); upstream_path then replaces the path. For `preserve` the
   * path is "" and the filter keeps the client's path. Null when the URL is unusable.
   */
  target(route: RouteType): UpstreamTarget | null {
    const o = this.config.options;
    let url = o.upstreamUrl;
    if (url.length == 0) {
      const p = this.defaultPath(route);
      url = this.defaultBaseUrl() + (route == RouteType.Preserve || p == null ? "" : p);
    }
    const t = parseUrl(url);
    if (t == null) return null;
    if (route == RouteType.Preserve && o.upstreamUrl.length == 0) t.path = "";
    if (o.upstreamPath.length > 0) t.path = o.upstreamPath;
    const q = this.defaultQuery(route);
    for (let i = 0; i < q.length; i++) t.query.push(unchecked(q[i]));
    return t;
  }

  /** Headers to set on the upstream request besides auth (e.g. anthropic-version). Set while request headers are held. */
  requestHeaders(route: RouteType): Header[] {
    return NO_HEADERS; // read only by the callers: one empty array, not one per request
  }

  /** Translates the validated OpenAI-format request into the provider's body. */
  abstract translateRequest(req: LlmRequest): TranslatedRequest;

  /** Translates a 200 non-streaming upstream body into the OpenAI shape for req.route. */
  abstract translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse;

  /**
   * Turns an upstream error (status != 200, any body, maybe not JSON) into the OpenAI error
   * shape `{"error":{"message","type","code"}}`. The filter keeps the status. The default
   * (errors.ts `genericError`) understands the common shapes (`error.message`, `error` as
   * a string, `message`, `detail`, plain text); override for others.
   */
  translateError(status: u32, body: Uint8Array): Uint8Array {
    return genericError(status, body);
  }

  /** A translator for one streaming response (req.stream is true). */
  abstract newStreamTranslator(req: LlmRequest): StreamTranslator;

  /**
   * True when the upstream reports token usage in streams (Kong: anthropic, cohere,
   * llama2, ollama; OpenAI-format upstreams when stream_options.include_usage is sent).
   * When false and the stream carried none, the filter estimates (Kong §1.4).
   */
  streamReportsUsage(): bool {
    return true;
  }

  /**
   * True when the upstream is always asked for a stream, because the upstream path must be
   * chosen in on_request_headers, before the body's `stream` flag is known (Gemini picks
   * streaming by path). A stream answering a client that did not ask for one is then
   * buffered whole and given to translateResponse, which must accept the stream body.
   */
  upstreamAlwaysStreams(): bool {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// URL parsing (for upstream_url and default bases)

/** Parses "scheme://host[:port][/path][?query]". Null when not http(s) or there is no host. */
export function parseUrl(url: string): UpstreamTarget | null {
  const sep = url.indexOf("://");
  if (sep <= 0) return null;
  const scheme = url.substring(0, sep).toLowerCase();
  if (scheme != "http" && scheme != "https") return null;
  const rest = url.substring(sep + 3);
  let hostEnd = rest.length;
  const slash = rest.indexOf("/");
  const qmark = rest.indexOf("?");
  if (slash >= 0) hostEnd = slash;
  if (qmark >= 0 && qmark < hostEnd) hostEnd = qmark;
  const authority = rest.substring(0, hostEnd);
  if (authority.length == 0 || authority.indexOf("@") >= 0 || authority.indexOf(" ") >= 0) return null;
  let path = rest.substring(hostEnd);
  const query = new Array<Header>();
  const q = path.indexOf("?");
  if (q >= 0) {
    const qs = path.substring(q + 1);
    path = path.substring(0, q);
    const parts = qs.split("&");
    for (let i = 0; i < parts.length; i++) {
      const p = unchecked(parts[i]);
      if (p.length == 0) continue;
      const eq = p.indexOf("=");
      if (eq < 0) query.push(new Header(p, ""));
      else query.push(new Header(p.substring(0, eq), p.substring(eq + 1)));
    }
  }
  if (path.length == 0) path = "/";
  return new UpstreamTarget(scheme, authority, path, query);
}
