// The OpenAI-style proxy stream for one LLM target: what ai-proxy runs for its one target and
// ai-proxy-advanced runs per try for the try's target. Moved from filters/ai-proxy/index.ts
// unchanged in behaviour; ai-proxy-advanced extends it (protected hooks below).
//
// Stock Envoy (allow_on_headers_stop_iteration false) shapes the flow: the request headers
// are only writable in on_request_headers, before the body is visible, so the upstream
// :path/:authority, credential and header clean-up happen there (they depend on the
// configuration and on the request's values for its `$(headers.X)`/`$(query_params.X)`
// templates); the body is then buffered (Pause until end of stream), validated and
// translated. Responses: errors and plain JSON are buffered and rewritten; streams are
// translated chunk by chunk and never paused.

import { Action, HttpContext, RootContext, logWarn } from "../../runtime";
import { currentTimeNanos, monotonicNanos } from "../../abi/time";
import { BufferType } from "../../abi/enums";
import { getBufferBytes, getBufferSize, setBufferBytesFrom } from "../../abi/buffers";
import { getPropertyString } from "../../abi/properties";
import { HeaderPair } from "../../abi/pairs";
import { Header, LlmRequest, Provider, RouteType, routeTypeName, StreamTranslator, UpstreamTarget } from "../provider";
import { providerFor } from "../providers/index";
import { errorBody, errorTypeForStatus } from "../errors";
import { modelsListBody } from "../models";
import { ByteBuilder } from "../json-writer";
import { withoutMember } from "../json-scan";
import { estimateCompletionTokens, estimatePromptTokens, takeUsageOutOfRange, usageCost } from "../usage";
import { Secrets, StreamRedactor } from "../redact";
import { AiProxyConfig, withModel } from "./config";
import { promptText, validateRequest } from "./request";
import { joinPath, parseQuery, queryValue, withoutParams } from "./url";
import { upstreamQuery, withBodyCredential } from "./upstream";
import { ModelTemplates, RequestValues, resolveModel, sampleModel } from "./template";
import { Analytics } from "../../analytics/record";
import { operationOfPath } from "../../analytics/facts";
import { HeaderView } from "./headers";
import { isSome, sameText } from "../nullable";
import { H_CACHE_CONTROL, H_CONTENT_ENCODING, H_CONTENT_LENGTH, H_CONTENT_TYPE, H_MODEL, H_SET_COOKIE, isAscii, MODEL_HEADER, ResponseHeads } from "./response-heads";

export { MODEL_HEADER };

const JSON_CT = "application/json";
const SSE_CT = "text/event-stream";
const NO_CACHE = "no-cache";
/** The response side's reading of the headers (one callback at a time: reused). */
const RESPONSE_HEADS = new ResponseHeads();

/** Query parameters that carry a client's own key (Gemini's `key`, Azure's `api-key`); dropped unless allow_override. */
const CLIENT_KEY_PARAMS = ["key", "api-key"];
/** Request headers that carry a client's own key; dropped unless allow_override. */
const CLIENT_KEY_HEADERS = ["authorization", "api-key", "x-api-key", "x-goog-api-key", "proxy-authorization"];
/** A body member that carries a client's own key; dropped unless allow_override. */
const CLIENT_KEY_MEMBER = "api_key";
/** An empty upstream query, shared: upstreamQuery() adds to a list only when it has something to add. */
const NO_QUERY = new Array<Header>();
/** The longest model name written into MODEL_HEADER. */
const MAX_MODEL_HEADER_BYTES = 256;

/** A configured target checked for use: its provider and (unless templated per request) upstream target. */
export class PreparedTarget {
  provider: Provider | null = null;
  target: UpstreamTarget | null = null;
  error: string | null = null;
}

/**
 * Checks a parsed LLM record as ai-proxy's on_configure does: a known provider that accepts the
 * route, and a valid upstream URL (with templated target fields, the literal parts are checked
 * with stand-in values; the target is then computed per request). `p` prefixes field names.
 */
export function prepareTarget(c: AiProxyConfig, p: string): PreparedTarget {
  const r = new PreparedTarget();
  const pr = providerFor(c.model);
  if (pr == null) {
    r.error = "field '" + p + "model.provider' is unknown: " + c.model.provider;
    return r;
  }
  const v = pr.validate(c.route);
  if (v != null) {
    r.error = v;
    return r;
  }
  const tp = c.templates;
  const perRequest = tp != null && tp.inTarget;
  const sp = perRequest ? providerFor(sampleModel(c.model, tp!)) : pr;
  const t = sp != null ? sp.target(c.route) : null;
  if (t == null) {
    r.error = "field '" + p + "model.options.upstream_url' is not a valid http(s) URL";
    return r;
  }
  r.provider = pr;
  r.target = perRequest ? null : t;
  return r;
}

/** What the response path does with this response. */
export enum Mode {
  Pass = 0, // untouched (preserve, our own local replies)
  Error = 1, // buffer, rewrite into the OpenAI error shape
  Buffer = 2, // buffer, translate the 200 body
  Stream = 3, // translate chunk by chunk
}

export class LlmProxyStream extends HttpContext {
  /** The root's, or this request's copy with its templates resolved. */
  cfg: AiProxyConfig;
  provider: Provider;
  rootTarget: UpstreamTarget | null;
  startNs: u64 = 0;
  created: i64 = 0;
  upstreamQuery: Header[] = NO_QUERY;
  req: LlmRequest | null = null;
  requestDone: bool = false;
  localReply: bool = false;
  mode: Mode = Mode.Pass;
  status: u32 = 0;
  translator: StreamTranslator | null = null;
  firstChunkNs: u64 = 0;
  responseDone: bool = false;
  recorded: bool = false;
  requestPayload: string | null = null;
  responsePayload: string | null = null;
  responseModel: string = "";
  analytics: Analytics = new Analytics();
  /** Why the client got no (or a broken) answer although the upstream replied; "" when none. */
  errorType: string = "";
  /** Masks the credentials in the response body as it goes out (streams and passed-through bodies). */
  redactor: StreamRedactor | null = null;
  /** Preserve route: the JSON body is read only to drop a client `api_key`. */
  stripBodyKey: bool = false;
  /** The request buffer's size when the body was read (processRequest), -1 before. */
  requestBodySize: i64 = -1;

  constructor(id: u32, root: RootContext, cfg: AiProxyConfig, provider: Provider, target: UpstreamTarget | null) {
    super(id, root);
    this.cfg = cfg;
    this.provider = provider;
    this.rootTarget = target;
  }

  // ---------------------------------------------------------------- request

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    this.startNs = monotonicNanos();
    this.created = <i64>(currentTimeNanos() / 1000000000);
    const cfg = this.cfg;
    // Read once: the reads need no host call, and removals of absent headers are skipped (headers.ts).
    const h = HeaderView.request(this);
    if (cfg.route != RouteType.Preserve && isModelsList(h)) return this.listModels();
    if (cfg.auth.missingEnv.length > 0) {
      return this.reject(500, "the gateway has no credential for provider " + this.provider.name + ": environment variable " + cfg.auth.missingEnv + " is not set");
    }
    const route = cfg.route;
    if (route != RouteType.Preserve) {
      if (endOfStream) return this.reject(400, "request body doesn't contain valid prompts: the request has no body");
      const cl = cfg.maxRequestBodySize > 0 ? h.get("content-length") : null;
      if (cl != null) {
        const n = I64.parseInt(cl);
        if (n > cfg.maxRequestBodySize) return this.tooLarge();
      }
    }

    const clientPath = h.get(":path");
    let path = clientPath != null ? clientPath : "/";
    const q = path.indexOf("?");
    const rawQuery = q >= 0 ? path.substring(q + 1) : "";
    if (q >= 0) path = path.substring(0, q);

    // Templates: this request's model, provider and (when they feed it) upstream target.
    let t = this.rootTarget;
    const tpl = cfg.templates;
    if (tpl != null) {
      t = this.applyTemplates(tpl, h, rawQuery);
      if (t == null) return Action.Pause; // refused with a 400
    }
    if (t == null) return this.reject(500, "ai-proxy has no upstream target"); // unreachable: configure sets one

    // Upstream path and authority.
    const a = cfg.auth;
    // Without a client query or anything to add to it, the one empty list (never written to).
    let query = q >= 0 ? parseQuery(rawQuery) : t.query.length == 0 && a.paramLocation != "query" ? NO_QUERY : new Array<Header>();
    if (!a.allowOverride && query.length > 0) query = withoutParams(query, CLIENT_KEY_PARAMS);
    if (t.path.length > 0) path = t.path;
    query = upstreamQuery(t, query, a);
    this.upstreamQuery = query;
    const upstreamPath = joinPath(path, query);
    h.replace(":path", upstreamPath);
    // ai-metrics' operation label, from the path it will see (so it need not read :path).
    this.analytics.operation = operationOfPath(upstreamPath);
    h.replace(":authority", t.authority);

    // Credentials: the client's are dropped unless allow_override.
    const clientHasAuthHeader = a.allowOverride && a.headerName.length > 0 && h.get(a.headerName) != null;
    if (!a.allowOverride) {
      for (let i = 0; i < CLIENT_KEY_HEADERS.length; i++) h.remove(unchecked(CLIENT_KEY_HEADERS[i]));
    }
    if (a.headerName.length > 0 && !(a.allowOverride && clientHasAuthHeader)) h.replace(a.headerName, a.headerValue);

    const ph = this.provider.requestHeaders(route);
    for (let i = 0; i < ph.length; i++) h.replace(unchecked(ph[i]).name, unchecked(ph[i]).value);
    // The body will change and the response must come back uncompressed.
    h.remove("accept-encoding");
    // Preserve route: a JSON body is read only to drop a client's `api_key` member.
    if (route == RouteType.Preserve && !a.allowOverride && !endOfStream) {
      const ct = h.get("content-type");
      this.stripBodyKey = ct != null && ct.toLowerCase().startsWith(JSON_CT);
    }
    if (route != RouteType.Preserve || a.paramLocation == "body" || this.stripBodyKey) {
      h.remove("content-length");
      if (route != RouteType.Preserve) h.replace("content-type", JSON_CT);
    }
    return Action.Continue;
  }

  /**
   * Resolves the configuration's templates from this request: this.cfg and this.provider
   * become the request's own. Returns the upstream target, or null after a 400 reply.
   */
  private applyTemplates(tpl: ModelTemplates, h: HeaderView, rawQuery: string): UpstreamTarget | null {
    const r = resolveModel(this.cfg.model, tpl, new StreamValues(h, rawQuery));
    // Set even on failure: the analytics record then shows "" rather than the template text.
    this.cfg = withModel(this.cfg, r.model);
    if (r.error != null) {
      this.reject(400, r.error!);
      return null;
    }
    if (tpl.inOptions) {
      const p = providerFor(r.model);
      if (p == null) {
        this.reject(500, "ai-proxy: unknown provider " + r.model.provider);
        return null;
      }
      this.provider = p;
    }
    const tm = r.targetModel;
    if (tm == null) return this.rootTarget;
    const tp = providerFor(tm);
    const t = tp != null ? tp.target(this.cfg.route) : null;
    if (t == null) this.reject(400, "the upstream URL resolved from this request's model options is not valid");
    return t;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): i32 {
    if (this.requestDone || this.localReply) return Action.Continue;
    const cfg = this.cfg;
    const needsBody = cfg.route != RouteType.Preserve || cfg.logPayloads || cfg.auth.paramLocation == "body" || this.stripBodyKey;
    if (!needsBody) return Action.Continue;
    if (cfg.maxRequestBodySize > 0 && <i64>bodySize > cfg.maxRequestBodySize) return this.tooLarge();
    if (!endOfStream) return Action.Pause; // Envoy keeps buffering; bodySize is the whole body so far
    return this.processRequest(this.readBuffer(BufferType.HttpRequestBody, bodySize), bodySize);
  }

  onRequestTrailers(numTrailers: u32): i32 {
    // With trailers the last body callback had endOfStream false.
    if (this.requestDone || this.localReply) return Action.Continue;
    const size = getBufferSize(BufferType.HttpRequestBody);
    if (size <= 0 && this.cfg.route != RouteType.Preserve) return this.reject(400, "request body doesn't contain valid prompts: the request has no body");
    return this.processRequest(this.readBuffer(BufferType.HttpRequestBody, <u32>max<i64>(size, 0)), size);
  }

  /** `size`: the request buffer's size now, as the callback or get_buffer_status told it (-1: unknown). */
  private processRequest(body: Uint8Array, size: i64): i32 {
    this.requestDone = true;
    this.requestBodySize = size;
    const cfg = this.cfg;
    if (cfg.logPayloads) this.requestPayload = this.secrets().maskString(String.UTF8.decodeUnsafe(body.dataStart, <usize>body.length));
    if (cfg.route == RouteType.Preserve) {
      const out = this.stripBodyKey ? withoutMember(body, CLIENT_KEY_MEMBER) : body;
      if (cfg.auth.paramLocation == "body") this.injectBodyParam(out);
      else if (out !== body) this.putRequestBody(out);
      return Action.Continue;
    }
    const v = validateRequest(body, cfg, this.created, "", this.upstreamQuery);
    if (v.req == null) return this.reject(v.status, v.message);
    const req = v.req!;
    if (cfg.modelNameHeader && (cfg.model.name.length == 0 || cfg.templates != null) && !validModelHeader(req.model)) {
      return this.reject(400, "'model' must be 1 to " + MAX_MODEL_HEADER_BYTES.toString() + " bytes of visible ASCII (inner spaces allowed): the gateway returns it in the " + MODEL_HEADER + " header");
    }
    req.freshIdOnRead(req.route == RouteType.Completions ? "cmpl-" : "chatcmpl-");
    this.req = req;
    const tr = this.provider.translateRequest(req);
    if (tr.body == null) {
      return this.reject(400, "error transforming to " + this.provider.name + "://" + routeTypeName(req.route) + ": " + (tr.error != null ? tr.error! : "unknown error"));
    }
    // The client's own key never reaches the provider (OpenAI-format bodies are copied member by member).
    const out = cfg.auth.allowOverride || tr.noClientKey ? tr.body! : withoutMember(tr.body!, CLIENT_KEY_MEMBER);
    if (cfg.auth.paramLocation == "body") this.injectBodyParam(out);
    else this.putRequestBody(out);
    return Action.Continue;
  }

  @inline private secrets(): Secrets {
    return this.cfg.auth.secrets;
  }

  /** auth.param_location=body: the credential as a top-level JSON member. */
  private injectBodyParam(body: Uint8Array): void {
    this.putRequestBody(withBodyCredential(body, this.cfg.auth));
  }

  /**
   * Replaces the whole request body with `out`. The buffer's size is known from the callback
   * (the body was just read whole), so no get_buffer_status call is made for it, as
   * replaceRequestBody would.
   */
  private putRequestBody(out: Uint8Array): void {
    const size = this.requestBodySize;
    if (size >= 0) setBufferBytesFrom(BufferType.HttpRequestBody, 0, <u32>size, out);
    else this.replaceRequestBody(out);
  }

  protected readBuffer(type: i32, size: u32): Uint8Array {
    if (size == 0) return new Uint8Array(0);
    const b = getBufferBytes(type, 0, size);
    return b != null ? Uint8Array.wrap(b) : new Uint8Array(0);
  }

  protected tooLarge(): i32 {
    return this.reject(413, "request body is larger than max_request_body_size (" + this.cfg.maxRequestBodySize.toString() + " bytes)");
  }

  /** The route's model, answered by the gateway: no credential needed, nothing sent upstream. A templated or empty name (the client picks) lists nothing. */
  private listModels(): i32 {
    const cfg = this.cfg;
    const tp = cfg.templates;
    const ids: string[] = [];
    if (cfg.model.name.length > 0 && (tp == null || tp.name == null)) ids.push(cfg.model.name);
    this.localReply = true;
    this.status = 200;
    this.recorded = true; // not an LLM request: no AI record, no AI metrics
    const body = modelsListBody(ids, this.provider.name, this.created);
    this.sendLocalResponse(200, "ai_proxy_models", body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength), [new HeaderPair("content-type", JSON_CT)]);
    return Action.Pause;
  }

  /** A local reply in the OpenAI error shape. */
  protected reject(status: u32, message: string): i32 {
    this.localReply = true;
    this.status = status;
    const body = errorBody(message, errorTypeForStatus(status), null);
    this.sendLocalResponse(status, "ai_proxy_" + status.toString(), body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength), [new HeaderPair("content-type", JSON_CT)]);
    return Action.Pause;
  }

  // ---------------------------------------------------------------- response

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    // Read once: the reads need no host call (headers.ts), and the headers decided on are
    // taken in one walk (response-heads.ts).
    const h = HeaderView.response(this);
    const sec = this.secrets();
    const r = RESPONSE_HEADS.read(h, sec);
    this.status = r.status();
    if (this.localReply || this.startNs == 0) {
      // Our own local reply passes through our response callbacks, and so does the reply of
      // a filter before us that stopped the request before our on_request_headers (a 429 of
      // ai-rate-limiting-advanced): leave both alone.
      this.mode = Mode.Pass;
      if (endOfStream) this.finish();
      return Action.Continue;
    }
    // Masks the credentials in every response header (an upstream may echo the key in any of them).
    r.redact(sec);
    const req = this.req;
    const status = this.status;
    // An LLM answer's content type and length, read once for the checks and the changes below;
    // application/json (the usual answer) is told without making the string, and is not a stream type.
    const answer = req != null && status >= 200 && status < 300 && status != 204;
    const ct = answer && !r.is(H_CONTENT_TYPE, JSON_CT) ? r.get(H_CONTENT_TYPE) : null;
    const streamCt = isSome(ct) && isStreamType(ct!);
    const cl = answer ? r.get(H_CONTENT_LENGTH) : null;
    const broken = this.brokenUpstream(status, endOfStream, cl, streamCt ? ct : null);
    if (isSome(broken)) return this.badGateway(broken!);
    // Changes the walk shows would change nothing are not made (nor looked up again).
    if (status >= 400 || status == 0) {
      // Upstream errors and Envoy's own replies (503/504/413…) become the OpenAI error shape.
      this.mode = Mode.Error;
      if (!r.absent(H_CONTENT_LENGTH)) h.remove("content-length");
      if (!r.single(H_CONTENT_TYPE, JSON_CT)) h.replace("content-type", JSON_CT);
    } else if (req == null || status < 200 || status >= 300) {
      this.mode = Mode.Pass; // preserve route
    } else {
      const enc = r.get(H_CONTENT_ENCODING);
      if (isSome(enc) && enc!.toLowerCase() != "identity") {
        logWarn("upstream answered with content-encoding " + sec.maskString(enc!) + "; passing the body through untranslated");
        this.mode = Mode.Pass;
      } else if (streamCt && req.stream) {
        // Streamed whenever the client streams (never buffer a whole stream).
        this.mode = Mode.Stream;
        const t = this.provider.newStreamTranslator(req);
        if (this.cfg.logPayloads || !this.provider.streamReportsUsage()) t.text = new ByteBuilder(1024);
        this.translator = t;
        if (isSome(cl)) h.remove("content-length"); // read above: nothing to remove when absent
        if (!r.single(H_CONTENT_TYPE, SSE_CT)) h.replace("content-type", SSE_CT);
        if (!r.single(H_CACHE_CONTROL, NO_CACHE)) h.replace("cache-control", NO_CACHE);
      } else {
        // JSON, or a stream the client did not ask for that this provider always sends (Gemini): aggregated.
        this.mode = Mode.Buffer;
        if (isSome(cl)) h.remove("content-length");
        if (!r.single(H_CONTENT_TYPE, JSON_CT)) h.replace("content-type", JSON_CT);
      }
      if (!r.absent(H_SET_COOKIE)) h.remove("set-cookie");
      if (status == 200 && this.cfg.modelNameHeader) {
        const m = modelHeaderValue(this.provider.name, req.model);
        if (!r.single(H_MODEL, m)) h.replace(MODEL_HEADER, m);
      }
    }
    if ((this.mode == Mode.Pass || this.mode == Mode.Stream) && !sec.empty) this.redactor = new StreamRedactor(sec);
    if (endOfStream) this.finish();
    return Action.Continue;
  }

  /**
   * Why this upstream answer cannot be a success for the client, or null. Seen at the
   * headers, so the client gets a 502 instead: a redirect (its Location would send the client
   * elsewhere), and on LLM routes a 204, an empty 200, or a stream answering a request that
   * did not ask for one (from a provider that streams only when asked). `cl`: the answer's
   * content-length; `streamCt`: its content type when that is a stream type.
   */
  private brokenUpstream(status: u32, endOfStream: bool, cl: string | null, streamCt: string | null): string | null {
    if (status >= 300 && status < 400) return "upstream answered with a redirect (status " + status.toString() + ")";
    const req = this.req;
    if (req == null || status < 200 || status >= 300) return null;
    if (status == 204) return "upstream answered with no content (status 204)";
    if (endOfStream || (isSome(cl) && cl!.trim() == "0")) return "upstream answered with an empty body (status " + status.toString() + ")";
    if (isSome(streamCt) && !req.stream && !this.provider.upstreamAlwaysStreams()) {
      return "upstream answered a request with stream=false with a stream (" + this.secrets().maskString(streamCt!) + ")";
    }
    return null;
  }

  /** Replaces the upstream answer, still held at its headers, with an OpenAI-shaped 502. */
  private badGateway(why: string): i32 {
    logWarn(why);
    this.errorType = "upstream_bad_response";
    // From on_response_headers (headers held: the local reply forces Stop) Envoy's sendLocalReply
    // takes its "headers seen, not sent" branch and writes the reply straight to the codec, so
    // no upstream header (Location) goes with it: source/common/http/filter_manager.cc
    // (DownstreamFilterManager::sendLocalReply); Envoy's own test filter for this case is
    // test/integration/filters/local_reply_during_encoding_filter.cc.
    return this.reject(502, why);
  }

  onResponseBody(bodySize: u32, endOfStream: bool): i32 {
    const mode = this.mode;
    if (mode == Mode.Pass) {
      if (this.localReply) {
        if (endOfStream) this.finish();
        return Action.Continue;
      }
      const r = this.redactor;
      if (r != null) {
        const chunk = this.readBuffer(BufferType.HttpResponseBody, bodySize);
        const out = r.push(chunk, endOfStream);
        if (r.changed) setBufferBytesFrom(BufferType.HttpResponseBody, 0, bodySize, out);
      }
      if (this.cfg.logPayloads && endOfStream) this.capturePassPayload(bodySize);
      if (endOfStream) this.finish();
      return Action.Continue;
    }
    if (mode == Mode.Stream) {
      if (this.firstChunkNs == 0) this.firstChunkNs = monotonicNanos();
      const chunk = this.readBuffer(BufferType.HttpResponseBody, bodySize);
      let out = this.translator!.push(chunk, endOfStream);
      const r = this.redactor;
      if (r != null) out = r.push(out, endOfStream);
      setBufferBytesFrom(BufferType.HttpResponseBody, 0, bodySize, out);
      if (endOfStream) this.finish();
      return Action.Continue; // never pause a stream
    }
    if (!endOfStream) return Action.Pause; // buffer: bodySize is the whole body so far
    this.completeBuffered(this.readBuffer(BufferType.HttpResponseBody, bodySize));
    return Action.Continue;
  }

  onResponseTrailers(numTrailers: u32): i32 {
    if (this.responseDone) return Action.Continue;
    if (this.mode == Mode.Error || this.mode == Mode.Buffer) {
      const size = getBufferSize(BufferType.HttpResponseBody);
      this.completeBuffered(this.readBuffer(BufferType.HttpResponseBody, <u32>max<i64>(size, 0)));
    } else {
      if (this.mode == Mode.Stream && this.translator != null) this.translator!.push(new Uint8Array(0), true);
      this.finish();
    }
    return Action.Continue;
  }

  private completeBuffered(body: Uint8Array): void {
    let out: Uint8Array;
    const sec = this.secrets();
    if (this.mode == Mode.Error) {
      // Masked before reading too: the message is clipped, and a clip must not leave half a key.
      out = this.provider.translateError(this.status, sec.mask(body));
    } else if (body.length == 0) {
      // An empty 200 whose headers did not say so (chunked): the status has gone out.
      const msg = "upstream answered with an empty body";
      logWarn(msg);
      this.errorType = "upstream_bad_response";
      out = errorBody(msg, "api_error", null);
    } else {
      const r = this.provider.translateResponse(this.req!, body);
      if (r.body != null) {
        out = r.body!;
        this.analytics.usage = r.usage;
        this.responseModel = r.model;
      } else {
        // The 200 status has gone out (stock Envoy cannot hold headers and read the body), so
        // the failure travels in the body, in the OpenAI error shape.
        const msg = sec.maskString(r.error != null ? r.error! : "transformation failed");
        logWarn(msg);
        this.errorType = "upstream_bad_response";
        out = errorBody(msg, "api_error", null);
      }
    }
    out = sec.mask(out);
    // An answer already in the OpenAI shape comes back as the same bytes: leave the buffer alone.
    if (changetype<usize>(out) != changetype<usize>(body)) setBufferBytesFrom(BufferType.HttpResponseBody, 0, <u32>body.length, out);
    if (this.cfg.logPayloads) this.responsePayload = String.UTF8.decodeUnsafe(out.dataStart, <usize>out.length);
    this.finish();
  }

  private capturePassPayload(bodySize: u32): void {
    const b = this.readBuffer(BufferType.HttpResponseBody, bodySize);
    this.responsePayload = this.secrets().maskString(String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length));
  }

  // ---------------------------------------------------------------- analytics

  /** The response is complete: fill and write the record (before the access log runs). */
  protected finish(): void {
    if (this.responseDone) return;
    this.responseDone = true;
    this.record();
  }

  protected record(): void {
    // A request that never reached us (startNs 0) went to no provider: no record, so no
    // provider latency sample in ai-metrics.
    if (this.recorded || this.startNs == 0) return;
    this.recorded = true;
    const a = this.analytics;
    const cfg = this.cfg;
    const req = this.req;
    a.pluginId = pluginNameOf(this.root);
    a.provider = this.provider.name;
    a.requestModel = req != null ? req.model : cfg.model.name;
    a.status = this.status;
    const now = monotonicNanos();
    a.latencyMs = this.startNs > 0 && now >= this.startNs ? <i64>((now - this.startNs) / 1000000) : 0;
    const t = this.translator;
    if (req != null && req.stream) a.requestMode = "stream";
    if (t != null) {
      a.usage = t.usage;
      this.responseModel = t.model;
      // A stream cut short (no end marker), or one that carried an error, is not a success.
      if (t.failed || !t.finished) {
        this.errorType = t.failed ? "upstream_stream_error" : "upstream_stream_incomplete";
        logWarn((t.failed ? "upstream stream failed: " + this.secrets().maskString(t.error) : "upstream stream ended before its end marker"));
      }
      if (this.firstChunkNs > 0 && this.firstChunkNs >= this.startNs) a.timeToFirstTokenMs = <i64>((this.firstChunkNs - this.startNs) / 1000000);
      const text = t.text;
      if (text != null && cfg.logPayloads) this.responsePayload = this.secrets().maskString(text.toString());
    }
    if (takeUsageOutOfRange()) logWarn("upstream " + this.provider.name + " reported a token count below 0 or above 2^31; treated as absent");
    // The upstream names the model: it goes into filter state, the access log and metric labels.
    a.responseModel = this.secrets().maskString(this.responseModel);
    a.errorType = this.errorType;
    // Kong's estimates when a successful answer reported no usage.
    if (req != null && this.status == 200 && this.mode != Mode.Pass) {
      const u = a.usage;
      if (u.promptTokens < 0) u.promptTokens = estimatePromptTokens(promptText(req), req.stream);
      if (u.completionTokens < 0 && t != null && t.text != null) u.completionTokens = estimateCompletionTokens(t.text!.toString());
      u.complete();
    }
    const o = cfg.model.options;
    a.cost = usageCost(a.usage, o.inputCost, o.outputCost);
    if (cfg.model.provider == "azure") {
      a.azureInstance = o.azureInstance;
      a.azureDeployment = o.azureDeploymentId;
      a.azureApiVersion = o.azureApiVersion;
    }
    a.requestPayload = this.requestPayload;
    a.responsePayload = this.responsePayload;
    a.write(this, cfg.logStatistics, cfg.logPayloads);
  }

  onLog(): void {
    // A stream that ended early (reset, client gone) still records what is known.
    this.record();
  }
}

// The last MODEL_HEADER value: a route serves one provider and (nearly always) one model, so
// the value is made once rather than concatenated per response.
let mhProvider = "";
let mhModel = "";
let mhValue = "";

function modelHeaderValue(provider: string, model: string): string {
  if (!sameText(provider, mhProvider) || !sameText(model, mhModel) || mhValue.length == 0) {
    mhProvider = provider;
    mhModel = model;
    mhValue = provider + "/" + model;
  }
  return mhValue;
}

/** GET …/v1/models: OpenAI's models list, which SDKs (client.models.list()) call. */
function isModelsList(h: HeaderView): bool {
  if (!h.is(":method", "GET")) return false;
  const p = h.get(":path");
  if (p == null) return false;
  const q = p.indexOf("?");
  return (q < 0 ? p : p.substring(0, q)).endsWith("/v1/models");
}

/** Template sources read from this stream's request headers and client query. */
class StreamValues extends RequestValues {
  constructor(
    private headers: HeaderView,
    private rawQuery: string,
  ) {
    super();
  }

  header(name: string): string | null {
    return this.headers.get(name);
  }

  query(name: string): string | null {
    return queryValue(this.rawQuery, name);
  }
}

/**
 * 1 to MAX_MODEL_HEADER_BYTES bytes of visible ASCII (0x21–0x7e), with inner spaces (a header
 * value's field-content, RFC 9110 §5.5; an outer space would be trimmed): safe as a header value.
 */
function validModelHeader(m: string): bool {
  const n = m.length;
  if (n == 0 || n > MAX_MODEL_HEADER_BYTES) return false;
  for (let i = 0; i < n; i++) {
    const c = m.charCodeAt(i);
    if (c == 0x20 && i > 0 && i < n - 1) continue;
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

export function isStreamType(ct: string): bool {
  // An ASCII value (always, in practice) is compared without a lower-cased copy.
  const l = isAscii(ct) ? ct : ct.toLowerCase();
  return startsWithAsciiCi(l, "text/event-stream") || startsWithAsciiCi(l, "application/x-ndjson") || startsWithAsciiCi(l, "application/stream+json") || startsWithAsciiCi(l, "application/jsonl");
}

/** `s` starts with the lower-case ASCII `prefix`, ASCII letters of `s` compared case-blind. */
function startsWithAsciiCi(s: string, prefix: string): bool {
  const n = prefix.length;
  if (s.length < n) return false;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    if (c != prefix.charCodeAt(i)) return false;
  }
  return true;
}

/** plugin_name of the stream's own plugin: VMs are shared, so it is read per stream, not cached per VM. */
export function pluginName(): string {
  const n = getPropertyString(["plugin_name"]);
  return n != null ? n : "";
}

/**
 * plugin_names by root context id. A root context serves exactly one plugin: cpp-host keys root
 * contexts by the plugin key, which includes the plugin's name (host/proxy/runtime.ts pluginKey),
 * so the name is read once per root rather than once per request.
 */
const pluginNames = new Map<u32, string>();

// The last root asked about: a VM serves one plugin (nearly always), so no map lookup per request.
let lastRootId: u32 = 0;
let lastRootName: string | null = null;

function pluginNameOf(root: RootContext): string {
  const id = root.id;
  const last = lastRootName;
  if (isSome(last) && id == lastRootId) return last!;
  let n: string;
  if (pluginNames.has(id)) n = pluginNames.get(id);
  else {
    n = pluginName();
    pluginNames.set(id, n);
  }
  lastRootId = id;
  lastRootName = n;
  return n;
}

