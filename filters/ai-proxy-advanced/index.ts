// ai-proxy-advanced: Kong's ai-proxy-advanced on Envoy. N targets, a balancer, failover across
// providers with streams preserved. See README.md for the design; in short:
//
// - root_id "" (the listener's HTTP filter) decides: the balancer orders the targets for this
//   request (circuit breakers, EWMAs and in-flight counts from shared data), the order goes to
//   filter state, and the router is told how to retry: x-envoy-retry-on (retriable-headers,
//   plus connect-failure/reset for `error`/`timeout`), x-envoy-max-retries, the per-try timeout.
// - root_id "upstream" (the same module as an upstream HTTP filter on the cluster that loops
//   back to the gateway's internal listener) runs once per try: it takes the try's target from
//   the order (upstream.request_attempt_count), rewrites the request for that target exactly as
//   ai-proxy does (LlmProxyStream), and on a response that Kong's failover_criteria move on
//   from, marks it with x-ai-proxy-advanced-failover so the router retries; the next try's
//   upstream filter translates for the next target. The answering try translates the response
//   back to OpenAI's format, chunk by chunk for streams, and writes the analytics record.
// - The internal listener routes each try by :authority (the target's host) to the provider's
//   cluster, as for any client of those hosts.

export * from "../../lib/runtime/exports";
import { Action, HttpContext, RootContext, logError, logWarn, registerRootContext } from "../../lib/runtime";
import { BufferType } from "../../lib/abi/enums";
import { getBufferBytes, setBufferBytesFrom } from "../../lib/abi/buffers";
import { currentTimeNanos } from "../../lib/abi/time";
import { HeaderPair } from "../../lib/abi/pairs";
import { errorBody, genericError } from "../../lib/llm/errors";
import { LlmProxyStream } from "../../lib/llm/route/proxy-stream";
import { readEnvironment } from "../../lib/runtime/env";
import { AdvancedConfig, Algorithm, F_403, F_404, F_429, F_500, F_502, F_503, F_504, F_ERROR, F_NON_IDEMPOTENT, F_TIMEOUT, parseAdvancedConfig, stateKey, Target } from "./config";
import { Planner } from "./balancer";
import { BalancerState } from "./state";

/** The response header an upstream filter adds to a try that should fail over; the router retries on it. */
export const FAILOVER_HEADER = "x-ai-proxy-advanced-failover";
const PLAN: string[] = ["ai_proxy_advanced.plan"];
const CLIENT_PATH: string[] = ["ai_proxy_advanced.path"];
const SERVED: string[] = ["ai_proxy_advanced.served"];
const ATTEMPT: string[] = ["upstream", "request_attempt_count"];
const JSON_CT = "application/json";

function nowMs(): f64 {
  return <f64>(currentTimeNanos() / 1000000);
}

/** Shared by both roles: parses and checks the configuration. */
function configure(bytes: Uint8Array, role: string): AdvancedConfig | null {
  const r = parseAdvancedConfig(bytes, readEnvironment());
  if (r.error != null) {
    logError("configuration refused: " + r.error!);
    return null;
  }
  const c = r.config!;
  for (let i = 0; i < c.targets.length; i++) {
    const t = c.targets[i];
    if (t.cfg.auth.allowOverride) {
      logError("configuration refused: field 'targets[" + i.toString() + "].auth.allow_override' cannot be true: a failover would hand one target's credential to the next");
      return null;
    }
    if (role == "" && t.cfg.auth.missingEnv.length > 0) logWarn("environment variable " + t.cfg.auth.missingEnv + " is not set; targets[" + i.toString() + "] will refuse requests until it is");
  }
  return c;
}

function parsePlan(s: string): i32[] {
  const out = new Array<i32>();
  let n = 0;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      has = true;
    } else if (c == 44) {
      if (has) out.push(n);
      n = 0;
      has = false;
    }
  }
  if (has) out.push(n);
  return out;
}

// ------------------------------------------------------------------------------ the balancer

class BalancerRoot extends RootContext {
  config: AdvancedConfig | null = null;
  planner: Planner | null = null;
  state: BalancerState = new BalancerState("");

  onConfigure(bytes: Uint8Array): bool {
    const c = configure(bytes, "");
    if (c == null) return false;
    this.config = c;
    this.planner = new Planner(c);
    this.state = new BalancerState(stateKey(c));
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new BalancerStream(contextId, this);
  }
}

class BalancerStream extends HttpContext {
  private rewriteError: bool = false;
  private status: u32 = 0;

  constructor(
    id: u32,
    private r: BalancerRoot,
  ) {
    super(id, r);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    const c = this.r.config!;
    const b = c.balancer;
    const key = b.algorithm == Algorithm.ConsistentHashing ? this.getRequestHeader(b.hashOnHeader) : null;
    const plan = this.r.planner!.plan(this.r.state, key, nowMs());
    if (plan.length == 0) {
      // Every target is out: open circuit breakers (Kong: 500 "failed to get peer"), or keys missing.
      let msg = "failed to get peer";
      for (let i = 0; i < c.targets.length; i++) {
        const m = c.targets[i].cfg.auth.missingEnv;
        if (m.length > 0) msg += "; the gateway has no credential for targets[" + i.toString() + "]: environment variable " + m + " is not set";
      }
      const body = errorBody(msg, "api_error", null);
      this.sendLocalResponse(500, "ai_proxy_advanced_no_peer", body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength), [new HeaderPair("content-type", JSON_CT)]);
      return Action.Pause;
    }
    let p = "";
    for (let i = 0; i < plan.length; i++) p += (i > 0 ? "," : "") + plan[i].toString();
    this.setPropertyString(PLAN, p);
    const path = this.getRequestHeader(":path");
    this.setPropertyString(CLIENT_PATH, path != null ? path : "/");
    // The router's retry policy for this request (source/common/router/retry_state_impl.cc reads these).
    let on = "retriable-headers";
    if ((b.failover & F_ERROR) != 0) on += ",connect-failure";
    if ((b.failover & (F_ERROR | F_TIMEOUT)) != 0) on += ",reset";
    this.replaceRequestHeader("x-envoy-retry-on", on);
    this.replaceRequestHeader("x-envoy-retriable-header-names", FAILOVER_HEADER);
    this.replaceRequestHeader("x-envoy-max-retries", (plan.length - 1).toString());
    this.replaceRequestHeader("x-envoy-upstream-rq-per-try-timeout-ms", b.readTimeout.toString());
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    this.removeResponseHeader(FAILOVER_HEADER);
    const st = this.getResponseHeader(":status");
    this.status = st != null ? <u32>I32.parseInt(st) : 0;
    // No try translated this answer: the router's own reply (every try timed out or failed to
    // connect) or an upstream filter's local reply. Envoy's plain-text ones become OpenAI's shape.
    if (this.status >= 400 && this.getPropertyString(SERVED) == null) {
      const ct = this.getResponseHeader("content-type");
      if (ct == null || !ct.startsWith(JSON_CT)) {
        this.rewriteError = true;
        this.removeResponseHeader("content-length");
        this.replaceResponseHeader("content-type", JSON_CT);
      }
    }
    return Action.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): i32 {
    if (!this.rewriteError) return Action.Continue;
    if (!endOfStream) return Action.Pause;
    const b = bodySize > 0 ? getBufferBytes(BufferType.HttpResponseBody, 0, bodySize) : null;
    const body = b != null ? Uint8Array.wrap(b) : new Uint8Array(0);
    setBufferBytesFrom(BufferType.HttpResponseBody, 0, bodySize, genericError(this.status, body));
    return Action.Continue;
  }
}

// ------------------------------------------------------------------------------ one try

class TryRoot extends RootContext {
  config: AdvancedConfig | null = null;
  state: BalancerState = new BalancerState("");

  onConfigure(bytes: Uint8Array): bool {
    const c = configure(bytes, "upstream");
    if (c == null) return false;
    this.config = c;
    this.state = new BalancerState(stateKey(c));
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    const t = this.config!.targets[0];
    return new TryStream(contextId, this, t);
  }
}

class TryStream extends LlmProxyStream {
  private target: Target;
  private attempt: i32 = 1;
  private last: bool = true;
  private failedOver: bool = false;
  private inFlight: bool = false;
  private nonIdempotent: bool = true;
  private sawResponse: bool = false;

  constructor(
    id: u32,
    private tr: TryRoot,
    t: Target,
  ) {
    super(id, tr, t.cfg, t.provider!, t.upstream);
    this.target = t;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    const ps = this.getPropertyString(PLAN);
    if (ps == null) return this.reject(500, "ai-proxy-advanced: this upstream filter found no balancer decision; the listener needs the ai-proxy-advanced filter (root_id \"\") in front of the router");
    const plan = parsePlan(ps);
    const targets = this.tr.config!.targets;
    this.attempt = <i32>max<i64>(this.getPropertyInt(ATTEMPT, 1), 1);
    const k = min<i32>(this.attempt, plan.length) - 1;
    const idx = k >= 0 && plan[k] < targets.length ? plan[k] : 0;
    this.last = this.attempt >= plan.length;
    const t = targets[idx];
    this.target = t;
    this.cfg = t.cfg;
    this.provider = t.provider!;
    this.rootTarget = t.upstream;
    // The router hands every try the same header map: start from the client's path, not the last try's.
    const path = this.getPropertyString(CLIENT_PATH);
    if (path != null) this.replaceRequestHeader(":path", path);
    const m = this.getRequestHeader(":method");
    this.nonIdempotent = m == null || !(m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS" || m == "TRACE");
    this.tr.state.addInFlight(idx, 1);
    this.inFlight = true;
    return super.onRequestHeaders(numHeaders, endOfStream);
  }

  private getPropertyInt(path: string[], fallback: i64): i64 {
    const v = this.getProperty(path);
    if (v == null || v.byteLength != 8) return fallback;
    return load<i64>(changetype<usize>(v));
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    this.sawResponse = true;
    if (!this.localReply) {
      const st = this.getResponseHeader(":status");
      const status = st != null ? <u32>I32.parseInt(st) : 0;
      if (status >= 400) {
        const b = this.tr.config!.balancer;
        const local = this.getResponseHeader("x-envoy-upstream-service-time") == null && (status == 503 || status == 504);
        let reason = "";
        let counts = false;
        if (local) {
          // The internal listener's own reply: no connection to the provider (503), or it timed out (504).
          const bit = status == 504 ? F_TIMEOUT : F_ERROR;
          counts = true;
          if ((b.failover & bit) != 0) reason = status == 504 ? "timeout" : "error";
        } else {
          const bit = statusBit(status);
          if (bit != 0 && (b.failover & bit) != 0) {
            counts = bit != F_403 && bit != F_404; // never breaker failures (reference §3.3)
            // POST needs non_idempotent to move on after an HTTP answer (nginx proxy_next_upstream).
            if (!this.nonIdempotent || (b.failover & F_NON_IDEMPOTENT) != 0) reason = "http_" + status.toString();
          }
        }
        if (counts) this.tr.state.failed(this.target.index, nowMs(), <f64>b.failTimeout);
        if (reason.length > 0 && !this.last) {
          this.failedOver = true;
          this.addResponseHeader(FAILOVER_HEADER, reason);
          return Action.Continue; // the router retries and drops this answer
        }
      }
      this.setPropertyString(SERVED, this.target.index.toString());
      this.analytics.target = this.target.label();
      this.analytics.tries = this.attempt;
    }
    return super.onResponseHeaders(numHeaders, endOfStream);
  }

  onResponseBody(bodySize: u32, endOfStream: bool): i32 {
    if (this.failedOver) return Action.Continue;
    return super.onResponseBody(bodySize, endOfStream);
  }

  onResponseTrailers(numTrailers: u32): i32 {
    if (this.failedOver) return Action.Continue;
    return super.onResponseTrailers(numTrailers);
  }

  protected record(): void {
    // A try that failed over, or ended without an answer before the last, is not the request's record.
    if (this.failedOver || (!this.sawResponse && !this.localReply && !this.last)) return;
    super.record();
  }

  protected finish(): void {
    const was = this.responseDone;
    super.finish();
    if (was || this.failedOver || this.status != 200) return;
    // Feed the balancer (Kong's log phase): latency and usage samples of the answering target.
    const b = this.tr.config!.balancer;
    const a = this.analytics;
    const now = nowMs();
    const ct = a.usage.completionTokens;
    const lat = b.latencyE2e ? <f64>a.latencyMs : ct > 0 ? <f64>a.latencyMs / <f64>ct : <f64>a.latencyMs;
    this.tr.state.addSample("latency", this.target.index, lat, now);
    let usage: f64 = <f64>max<i64>(a.usage.totalTokens, 0);
    if (b.tokensCount == "prompt-tokens") usage = <f64>max<i64>(a.usage.promptTokens, 0);
    else if (b.tokensCount == "completion-tokens") usage = <f64>max<i64>(ct, 0);
    else if (b.tokensCount == "cost") usage = a.cost;
    this.tr.state.addSample("usage", this.target.index, usage, now);
  }

  onDone(): bool {
    if (this.inFlight) {
      this.inFlight = false;
      this.tr.state.addInFlight(this.target.index, -1);
      // A try that ended with no answer (per-try timeout, reset) counts as a failure.
      if (!this.sawResponse && !this.localReply) this.tr.state.failed(this.target.index, nowMs(), <f64>this.tr.config!.balancer.failTimeout);
    }
    return super.onDone();
  }
}

function statusBit(status: u32): u32 {
  if (status == 429) return F_429;
  if (status == 403) return F_403;
  if (status == 404) return F_404;
  if (status == 500) return F_500;
  if (status == 502) return F_502;
  if (status == 503) return F_503;
  if (status == 504) return F_504;
  return 0;
}

registerRootContext("", (id: u32): RootContext => new BalancerRoot(id));
registerRootContext("upstream", (id: u32): RootContext => new TryRoot(id));
