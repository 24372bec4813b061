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
import { Action, HeaderPair, HttpContext, RootContext, currentTimeNanos, getPropertyString, logError, logWarn, registerRootContext } from "../../lib/runtime";
import { windowRate, windowStart } from "../../lib/ratelimit/window";
import { addCount, admitAndReserve, readCount } from "../../lib/ratelimit/shared-counter";
import { CountStrategy, parseConfig, RateLimitConfig, Strategy } from "./config";
import { Estimate, estimateBody, estimateHeaders } from "./estimate";
import { hashHex, identify } from "./identifier";
import { denial, limitHeaders, WindowState } from "./windows";
import { readServed } from "./usage";

const FILTER = "ai-rate-limiting-advanced";
/** Filter state naming the denied providers (comma-separated), for ai-metrics' denial series. */
const K_DENIED: string[] = ["ai.rate_limited"];

export class LimiterRoot extends RootContext {
  config: RateLimitConfig = new RateLimitConfig();

  onConfigure(bytes: Uint8Array): bool {
    const name = getPropertyString(["plugin_name"]);
    const r = parseConfig(bytes, name != null && name.length > 0 ? name : FILTER);
    if (r.error != null) {
      logError(FILTER + ": configuration refused: " + r.error!);
      return false;
    }
    const c = r.config!;
    if (c.strategy == CountStrategy.Cost && c.reserve && (isNaN(c.inputCost) || isNaN(c.outputCost))) {
      logWarn(FILTER + ": tokens_count_strategy 'cost' without reservation.input_cost/output_cost: in-flight requests reserve nothing and concurrent requests can overshoot, as in Kong");
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
  /** The requestPrompt cost charged (-1: none). */
  queryCost: f64 = -1;
  path: string = "";

  constructor(id: u32, root: LimiterRoot) {
    super(id, root);
    this.cfg = root.config;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    const cfg = this.cfg;
    const p = this.getRequestHeader(":path");
    this.path = p != null ? p : "";
    const id = hashHex(identify(this, cfg));
    const est = estimateHeaders(this.getRequestHeader("content-length"), cfg.completionTokens);
    const amount = cfg.reserve ? amountFor(cfg, est) : 0;
    if (!endOfStream) this.bufferRequestBody = true;
    return this.admitLocal(id, amount) ? Action.Continue : Action.Pause;
  }

  /** Kong's check on every window, each atomic with its reservation; false after a denial. */
  private admitLocal(id: string, amount: f64): bool {
    const cfg = this.cfg;
    const now = nowSeconds();
    const ws = cfg.windows;
    let anyDenied = false;
    for (let i = 0; i < ws.length; i++) {
      const w = unchecked(ws[i]);
      const s = new WindowState(w);
      s.base = "airl:" + cfg.namespace + ":" + w.provider + ":" + w.size.toString() + ":" + id;
      s.start = windowStart(now, w.size);
      const prev = cfg.sliding ? windowRate(0, readCount(s.base, s.start - w.size, w.size), now, w.size, true) : 0;
      // requestPrompt is charged when the body is read, not reserved.
      const a = s.isRequestPrompt ? 0 : amount;
      const rate = admitAndReserve(s.base, s.start, w.size, prev, w.limit, a);
      if (rate < 0) {
        logWarn(FILTER + ": shared data update failed; the request passes unreserved");
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
        if (s.reserved > 0) addCount(s.base, s.start, s.w.size, -s.reserved, true);
        s.reserved = 0;
      }
      this.deny(now);
      return false;
    }
    this.admitted = true;
    return true;
  }

  /** Kong's denial: error_code, {"message":…}, the X-AI-RateLimit-* headers and Retry-After. */
  deny(now: i64): void {
    this.denied = true;
    const j = this.cfg.retryAfterJitterMax;
    const jitter = j > 0 ? <i64>Math.floor(Math.random() * <f64>(j + 1)) : 0;
    const d = denial(this.states, this.cfg, now, jitter);
    this.setPropertyString(K_DENIED, d.providers.join(","));
    this.sendLocalResponse(d.status, "ai_rate_limited", d.body, d.headers);
  }

  onRequestBodyComplete(body: Uint8Array): i32 {
    if (!this.admitted) return Action.Continue;
    const cfg = this.cfg;
    const est = estimateBody(body, this.path, cfg.completionTokens);
    const amount = cfg.reserve ? amountFor(cfg, est) : 0;
    const local = cfg.store == Strategy.Local;
    for (let i = 0; i < this.states.length; i++) {
      const s = unchecked(this.states[i]);
      if (s.isRequestPrompt) {
        // Kong charges requestPrompt at access; here its cost is the prompt bound.
        const cost = <f64>est.prompt;
        if (cost > 0) addCount(s.base, s.start, s.w.size, cost, false);
        this.queryCost = cost;
        continue;
      }
      if (!local || !cfg.reserve) continue;
      const d = amount - s.reserved;
      if (d != 0) {
        addCount(s.base, s.start, s.w.size, d, d < 0);
        s.reserved = amount;
      }
    }
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    if (this.denied) return Action.Continue; // our own local reply carries its headers
    if (endOfStream) this.responseComplete = true;
    if (this.admitted && !this.cfg.hideClientHeaders && this.states.length > 0) {
      const h = new Array<HeaderPair>();
      limitHeaders(this.states, this.cfg, this.queryCost, h);
      for (let i = 0; i < h.length; i++) this.replaceResponseHeader(unchecked(h[i]).key, unchecked(h[i]).value);
    }
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
        if (d != 0) addCount(s.base, s.start, size, d, d < 0);
      } else {
        // The window has moved on: take the reservation out of the old one (if it is still
        // there) and charge the current one, as Kong charges at log time.
        if (s.reserved > 0) addCount(s.base, s.start, size, -s.reserved, true);
        if (a > 0) addCount(s.base, cur, size, a, false);
      }
      s.reserved = 0;
    }
  }
}


registerRootContext("", (id: u32): RootContext => new LimiterRoot(id));
