// ai-rate-limiting-advanced: Kong's token (or cost) limits per provider over time windows,
// with reservations of in-flight requests so that concurrent requests cannot overshoot.
// See README.md for the configuration, the chain order and the rules.
//
// Flow: on_request_headers checks every configured window (Kong's rule: denied when the
// window's count is already over the limit) and, atomically with the check, reserves the
// request's bound (content-length + the default completion bound); a denied request gets
// Kong's 429 there, before any byte reaches the router, so the provider is never called.
// The body, when complete, refines the reservation (max_tokens). on_done, which Envoy runs
// after every filter's on_log (log → done → delete, source/common/http/filter_manager.cc and
// source/extensions/common/wasm/context.cc), replaces the reservation with the usage ai-proxy
// recorded in filter state.

export * from "../../lib/runtime/exports";
export * from "../../lib/runtime/grpc-exports";
import { Action, HeaderPair, HttpContext, RootContext, currentTimeNanos, getPropertyString, logError, logWarn, registerRootContext } from "../../lib/runtime";
import { windowRate, windowStart } from "../../lib/ratelimit/window";
import { addCount, admitAndReserve, readCount, setSlot, slotKey } from "../../lib/ratelimit/shared-counter";
import { CountStrategy, parseConfig, RateLimitConfig, Strategy } from "./config";
import { Estimate, estimateBody, estimateHeaders } from "./estimate";
import { hashHex, identify } from "./identifier";
import { denial, replaceLimitHeaders, WindowState } from "./windows";
import { readServed } from "./usage";
import { admissionRequest, applyAdmission, chargeRequest, hitsOf, RLS_METHOD, RLS_SERVICE } from "./cluster";
import { dispatchGrpcCall, GrpcCallResult } from "../../lib/runtime/grpc-call";
import { decodeRateLimitResponse } from "../../lib/ratelimit/rls-proto";
import { Context } from "../../lib/runtime";
import { FACT_RATE_LIMITED, putNamesFact } from "../../lib/analytics/facts";
// The content-length and the request body read into kept memory.
import { readRequestBodiesKept, requestContentLength } from "../../lib/prompt/read";

const FILTER = "ai-rate-limiting-advanced";
/** Filter state naming the denied providers (comma-separated), for ai-metrics' denial series. */
const K_DENIED: string[] = ["ai.rate_limited"];

export class LimiterRoot extends RootContext {
  config: RateLimitConfig = new RateLimitConfig();

  onConfigure(bytes: Uint8Array): bool {
    const name = getPropertyString(["plugin_name"]);
    const r = parseConfig(bytes, name != null && name.length > 0 ? name : FILTER);
    if (r.error != null) {
      logError("configuration refused: " + r.error!);
      return false;
    }
    const c = r.config!;
    if (c.strategy == CountStrategy.Cost && c.reserve && (isNaN(c.inputCost) || isNaN(c.outputCost))) {
      logWarn("tokens_count_strategy 'cost' without reservation.input_cost/output_cost: in-flight requests reserve nothing and concurrent requests can overshoot, as in Kong");
    }
    this.config = c;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new Limiter(contextId, this);
  }
}

export function nowSeconds(): i64 {
  return <i64>(currentTimeNanos() / 1000000000);
}

/** What a request reserves for its bound, in the strategy's unit. */
export function amountFor(cfg: RateLimitConfig, e: Estimate): f64 {
  switch (cfg.strategy) {
    case CountStrategy.PromptTokens:
      return <f64>e.prompt;
    case CountStrategy.CompletionTokens:
      return <f64>e.completion;
    case CountStrategy.Cost:
      if (isNaN(cfg.inputCost) || isNaN(cfg.outputCost)) return 0;
      return (<f64>e.prompt * cfg.inputCost + <f64>e.completion * cfg.outputCost) / 1000000.0;
  }
  return <f64>(e.prompt + e.completion);
}

export class Limiter extends HttpContext {
  cfg: RateLimitConfig;
  states: WindowState[] = [];
  admitted: bool = false;
  denied: bool = false;
  responseComplete: bool = false;
  settled: bool = false;
  /** The hits reserved at admission (strategy cluster). */
  clusterReserve: u64 = 0;
  /** The requestPrompt cost charged (-1: none). */
  queryCost: f64 = -1;
  /** The request's :path (an embeddings request reserves no completion). */
  path: string = "";

  constructor(id: u32, root: LimiterRoot) {
    super(id, root);
    this.cfg = root.config;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    const cfg = this.cfg;
    // Read now: Envoy lets go of the request headers once this callback answers Continue
    // (source/extensions/common/wasm/context.cc, Context::decodeHeaders).
    const p = this.getRequestHeader(":path");
    this.path = p != null ? p : "";
    const id = identify(this, cfg, this.path);
    const est = estimateHeaders(requestContentLength(), cfg.completionTokens);
    const amount = cfg.reserve ? amountFor(cfg, est) : 0;
    if (!endOfStream) this.bufferRequestBody = true;
    if (cfg.store == Strategy.Cluster) return this.admitCluster(hashHex(id), hitsOf(cfg, amount));
    return this.admitLocal(id, amount) ? Action.Continue : Action.Pause;
  }

  /** Kong's check on every window, each atomic with its reservation; false after a denial. */
  private admitLocal(id: u64, amount: f64): bool {
    const cfg = this.cfg;
    const now = nowSeconds();
    const ws = cfg.windows;
    let anyDenied = false;
    for (let i = 0; i < ws.length; i++) {
      const w = unchecked(ws[i]);
      const s = new WindowState(w);
      s.start = windowStart(now, w.size);
      const key = slotKey(w.keyPrefix, id, s.start, w.size);
      s.key = key;
      let prev: f64 = 0;
      if (cfg.sliding) {
        // The previous window's slot: the same key with the other digit, for one read.
        const before = s.start - w.size;
        setSlot(key, before, w.size);
        prev = windowRate(0, readCount(key, before), now, w.size, true);
        setSlot(key, s.start, w.size);
      }
      // requestPrompt is charged when the body is read, not reserved.
      const a = s.isRequestPrompt ? 0 : amount;
      const rate = admitAndReserve(s.key, s.start, prev, w.limit, a);
      if (rate < 0) {
        logWarn("shared data update failed; the request passes unreserved");
      } else {
        s.rate = rate;
        s.denied = rate > w.limit;
        if (s.denied) anyDenied = true;
        else s.reserved = a;
      }
      this.states.push(s);
    }
    if (anyDenied) {
      // Undo the reservations made in the windows that admitted it.
      for (let i = 0; i < this.states.length; i++) {
        const s = unchecked(this.states[i]);
        if (s.reserved > 0) addCount(s.key, s.start, -s.reserved, true);
        s.reserved = 0;
      }
      this.deny(now);
      return false;
    }
    this.admitted = true;
    return true;
  }

  /** Cluster: one ShouldRateLimit call with a check and a reservation per window; the stream waits for it. */
  private admitCluster(id: string, reserve: u64): i32 {
    const cfg = this.cfg;
    const ws = cfg.windows;
    for (let i = 0; i < ws.length; i++) this.states.push(new WindowState(unchecked(ws[i])));
    this.clusterReserve = reserve;
    const msg = admissionRequest(cfg, this.states, id, reserve);
    const t = dispatchGrpcCall(cfg.rlsCluster, RLS_SERVICE, RLS_METHOD, [], msg, cfg.rlsTimeoutMs, this, onAdmission);
    if (t < 0) {
      logWarn("rate limit service call to cluster " + cfg.rlsCluster + " could not start (status " + (-t).toString() + ")");
      return this.serviceFailed() ? Action.Continue : Action.Pause;
    }
    return Action.Pause;
  }

  /** The service failed: let the request through unreserved, or refuse it with failure_mode_deny (Envoy's ratelimit filter: 500). */
  serviceFailed(): bool {
    if (this.cfg.rlsFailureModeDeny) {
      this.denied = true;
      this.sendLocalResponse(500, "ai_rate_limit_service_error", String.UTF8.encode('{"message":"An unexpected error occurred"}'), [new HeaderPair("content-type", "application/json; charset=utf-8")]);
      return false;
    }
    this.states = [];
    this.admitted = true;
    return true;
  }

  /** The admission answer (strategy cluster). */
  onAdmission(r: GrpcCallResult): void {
    if (r.status != 0) {
      logWarn("rate limit service answered gRPC status " + r.status.toString() + ": " + r.message);
      if (this.serviceFailed()) this.continueRequest();
      return;
    }
    const resp = decodeRateLimitResponse(r.response);
    if (resp == null || !applyAdmission(this.states, this.clusterReserve, resp)) {
      logWarn("rate limit service answer does not match the request");
      if (this.serviceFailed()) this.continueRequest();
      return;
    }
    let anyDenied = false;
    for (let i = 0; i < this.states.length; i++) if (unchecked(this.states[i]).denied) anyDenied = true;
    if (anyDenied) {
      this.deny(nowSeconds());
      return;
    }
    this.admitted = true;
    this.continueRequest();
  }

  /** Reports more hits to the service (fire and forget: the answer changes nothing). */
  charge(provider: string | null, hits: u64): void {
    if (hits == 0) return;
    const msg = chargeRequest(this.cfg, this.states, provider, hits);
    if (msg != null) dispatchGrpcCall(this.cfg.rlsCluster, RLS_SERVICE, RLS_METHOD, [], msg, this.cfg.rlsTimeoutMs, this, ignoreAnswer);
  }

  /** Kong's denial: error_code, {"message":…}, the X-AI-RateLimit-* headers and Retry-After. */
  deny(now: i64): void {
    this.denied = true;
    const j = this.cfg.retryAfterJitterMax;
    const jitter = j > 0 ? <i64>Math.floor(Math.random() * <f64>(j + 1)) : 0;
    const d = denial(this.states, this.cfg, now, jitter);
    const denied = d.providers.join(",");
    this.setPropertyString(K_DENIED, denied);
    putNamesFact(this, FACT_RATE_LIMITED, denied); // for ai-metrics
    this.sendLocalResponse(d.status, "ai_rate_limited", d.body, d.headers);
  }

  onRequestBodyComplete(body: Uint8Array): i32 {
    if (!this.admitted) return Action.Continue;
    const cfg = this.cfg;
    const est = estimateBody(body, this.path, cfg.completionTokens);
    const amount = cfg.reserve ? amountFor(cfg, est) : 0;
    const local = cfg.store == Strategy.Local;
    if (!local) {
      // The service cannot refund: only a bound larger than the one reserved is reported.
      if (cfg.reserve && this.states.length > 0) {
        const have = <u64>unchecked(this.states[0]).reserved;
        const want = hitsOf(cfg, amount);
        if (want > have) this.charge(null, want - have);
      }
      return Action.Continue;
    }
    for (let i = 0; i < this.states.length; i++) {
      const s = unchecked(this.states[i]);
      if (s.isRequestPrompt) {
        // Kong charges requestPrompt at access; here its cost is the prompt bound.
        const cost = <f64>est.prompt;
        if (cost > 0) addCount(s.key, s.start, cost, false);
        this.queryCost = cost;
        continue;
      }
      if (!local || !cfg.reserve) continue;
      const d = amount - s.reserved;
      if (d != 0) {
        addCount(s.key, s.start, d, d < 0);
        s.reserved = amount;
      }
    }
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    if (this.denied) return Action.Continue; // our own local reply carries its headers
    if (endOfStream) this.responseComplete = true;
    if (this.admitted && !this.cfg.hideClientHeaders) replaceLimitHeaders(this.states, this.cfg, this.queryCost);
    return Action.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): i32 {
    if (endOfStream) this.responseComplete = true;
    return Action.Continue;
  }

  onResponseTrailers(numTrailers: u32): i32 {
    this.responseComplete = true;
    return Action.Continue;
  }

  onDone(): bool {
    this.settle();
    return true;
  }

  /**
   * Replaces the reservation with what the request used: ai-proxy's usage for the provider
   * that served it; for a response cut short with no usage known, its reservation; for a
   * request that failed or never reached ai-proxy, nothing.
   */
  settle(): void {
    if (!this.admitted || this.settled) return;
    this.settled = true;
    const cfg = this.cfg;
    const served = readServed(cfg.strategy);
    const cutShort = served.provider != null && served.amount < 0 && !this.responseComplete && served.status < 400;
    const actual = served.amount > 0 ? served.amount : 0;
    if (cfg.store == Strategy.Cluster) {
      if (served.provider == null || cutShort) return;
      let have: f64 = -1;
      for (let i = 0; i < this.states.length; i++) {
        const s = unchecked(this.states[i]);
        if (s.w.provider == served.provider!) have = s.reserved;
      }
      if (have < 0) return;
      const want = hitsOf(cfg, actual);
      if (<f64>want > have) this.charge(served.provider, want - <u64>have);
      return;
    }
    const now = nowSeconds();
    for (let i = 0; i < this.states.length; i++) {
      const s = unchecked(this.states[i]);
      if (s.isRequestPrompt) continue;
      const mine = served.provider != null && served.provider! == s.w.provider;
      const a = mine ? (cutShort ? s.reserved : actual) : 0;
      const size = s.w.size;
      const cur = windowStart(now, size);
      if (cur == s.start) {
        const d = a - s.reserved;
        if (d != 0) addCount(s.key, s.start, d, d < 0);
      } else {
        // The window has moved on: take the reservation out of the old one (if it is still
        // there) and charge the current one, as Kong charges at log time.
        if (s.reserved > 0) addCount(s.key, s.start, -s.reserved, true);
        if (a > 0) {
          setSlot(s.key, cur, size);
          addCount(s.key, cur, a, false);
        }
      }
      s.reserved = 0;
    }
  }
}



function onAdmission(origin: Context, r: GrpcCallResult): void {
  if (!origin.isRoot) changetype<Limiter>(origin).onAdmission(r);
}

function ignoreAnswer(origin: Context, r: GrpcCallResult): void {}

// Request bodies are read into the kept buffer: this filter keeps none past its callback.
readRequestBodiesKept();
registerRootContext("", (id: u32): RootContext => new LimiterRoot(id));
