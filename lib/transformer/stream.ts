// What both transformers' streams share: the LLM side call (lib/llm/introspect through
// lib/runtime/service-call), Kong's error replies, and the analytics record of the LLM call
// under the transformer's own keys (`ai.ai-request-transformer.*`), which ai-metrics counts
// with the LLM call's provider and model.

import { Context, HttpContext, RootContext } from "../runtime/context";
import { HttpCallResponse } from "../runtime/http-call";
import { callService, ServiceEndpoint } from "../runtime/service-call";
import { HeaderPair } from "../abi/pairs";
import { currentTimeNanos, monotonicNanos } from "../abi/time";
import { logWarn } from "../abi/log";
import { errorBody, errorTypeForStatus } from "../llm/errors";
import { buildLlmCall, INTROSPECT_FAILED, Introspection, LlmCall, readLlmAnswer } from "../llm/introspect";
import { usageCost } from "../llm/usage";
import { Analytics, AnalyticsKeys } from "../analytics/record";
import { TransformerConfig } from "./config";

const JSON_CT = "application/json";
/** Envoy's local reply body when the async client's timeout fires (router's timeout reply). */
const ENVOY_TIMEOUT_BODY = "upstream request timeout";

export abstract class TransformerStream extends HttpContext {
  /** A local reply of ours is on its way: our own response callbacks must leave it alone. */
  replied: bool = false;
  /** The LLM call is in flight. */
  waiting: bool = false;
  private call: LlmCall | null = null;
  private callStartNs: u64 = 0;
  private inputText: string | null = null;

  constructor(
    id: u32,
    root: RootContext,
    public readonly cfg: TransformerConfig,
    /** "ai-request-transformer": response code details and log lines. */
    public readonly filterName: string,
    private readonly keys: AnalyticsKeys,
  ) {
    super(id, root);
  }

  /** The credential's variable is missing from the VM's environment: answer 500 naming it (never the value). */
  protected missingCredential(): bool {
    const missing = this.cfg.llm.auth.missingEnv;
    if (missing.length == 0) return false;
    this.fail(500, "the gateway has no credential for the LLM (provider " + this.cfg.llm.model.provider + "): environment variable " + missing + " is not set");
    return true;
  }

  /** Sends `input` to the LLM; the answer arrives in onLlmAnswer. False after an error reply. */
  protected askLlm(input: Uint8Array): bool {
    const cfg = this.cfg;
    const b = buildLlmCall(cfg.llm, cfg.provider!, cfg.target!, cfg.prompt, input, <i64>(currentTimeNanos() / 1000000000));
    if (b.call == null) {
      this.fail(400, b.error!);
      return false;
    }
    const call = b.call!;
    this.call = call;
    if (cfg.llm.logPayloads) this.inputText = String.UTF8.decodeUnsafe(input.dataStart, <usize>input.length);
    const ep = cfg.endpoint!;
    const headers = new Array<HeaderPair>(call.headers.length);
    for (let i = 0; i < call.headers.length; i++) unchecked((headers[i] = new HeaderPair(unchecked(call.headers[i]).name, unchecked(call.headers[i]).value)));
    const body = call.body;
    this.callStartNs = monotonicNanos();
    const token = callService(this, new ServiceEndpoint(ep.cluster, ep.scheme, ep.authority, call.path), "POST", headers, body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength), cfg.httpTimeoutMs, deliverLlmResponse);
    if (token < 0) {
      // Envoy refuses a call to a cluster it does not know (BadArgument).
      this.fail(400, INTROSPECT_FAILED + "Envoy refused the call to cluster '" + ep.cluster + "'; define that cluster or set llm_cluster");
      return false;
    }
    this.waiting = true;
    return true;
  }

  /** @internal The LLM call's response (or failure), on this stream. */
  llmResponse(res: HttpCallResponse): void {
    this.waiting = false;
    const call = this.call!;
    const cfg = this.cfg;
    const now = monotonicNanos();
    const latencyMs = now >= this.callStartNs ? <i64>((now - this.callStartNs) / 1000000) : 0;
    let r: Introspection;
    const status = res.failed ? 0 : res.status;
    if (res.failed) {
      r = new Introspection();
      r.error = INTROSPECT_FAILED + "the connection was reset";
    } else if (status == 504 && res.text() == ENVOY_TIMEOUT_BODY) {
      r = new Introspection();
      r.error = INTROSPECT_FAILED + "timeout (no answer within http_timeout, " + cfg.httpTimeoutMs.toString() + " ms)";
    } else {
      r = readLlmAnswer(cfg.provider!, call.req, status, res.body, cfg.pattern);
      // An LLM that echoes the key it received must not hand it on to the upstream or the client.
      const t = r.text;
      if (t != null) cfg.llm.auth.secrets.maskInPlace(t.dataStart, t.length);
    }
    this.record(call, r, <u32>status, latencyMs);
    this.onLlmAnswer(r);
  }

  /** The LLM answered (r.text) or the call failed (r.error, Kong's message). */
  abstract onLlmAnswer(r: Introspection): void;

  private record(call: LlmCall, r: Introspection, status: u32, latencyMs: i64): void {
    const cfg = this.cfg;
    const a = new Analytics();
    a.keys = this.keys;
    a.provider = cfg.llm.model.provider;
    a.requestModel = call.req.model;
    // The model name comes from the LLM's answer: masked like its text (ai-proxy does the same).
    a.responseModel = cfg.llm.auth.secrets.maskString(r.model);
    a.usage = r.usage;
    a.latencyMs = latencyMs;
    a.status = status;
    const o = cfg.llm.model.options;
    a.cost = usageCost(a.usage, o.inputCost, o.outputCost);
    if (cfg.llm.model.provider == "azure") {
      a.azureInstance = o.azureInstance;
      a.azureDeployment = o.azureDeploymentId;
      a.azureApiVersion = o.azureApiVersion;
    }
    if (cfg.llm.logPayloads) {
      a.requestPayload = this.inputText;
      const t = r.text;
      a.responsePayload = t != null ? String.UTF8.decodeUnsafe(t.dataStart, <usize>t.length) : null;
    }
    a.write(this, cfg.llm.logStatistics, cfg.llm.logPayloads);
  }

  /** Replies `status` with `{"error":{"message",…}}` (Kong's statuses and messages). */
  fail(status: u32, message: string): void {
    if (status >= 500) logWarn(this.filterName + ": " + message);
    this.replied = true;
    const body = errorBody(message, errorTypeForStatus(status), null);
    this.sendLocalResponse(status, this.filterName.replaceAll("-", "_") + "_failed", body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength), [new HeaderPair("content-type", JSON_CT)]);
  }
}

function deliverLlmResponse(origin: Context, res: HttpCallResponse): void {
  changetype<TransformerStream>(origin).llmResponse(res);
}

/** A decimal header value, or -1 when it is not one. */
export function decimalHeader(s: string | null): i64 {
  if (s == null || s.length == 0 || s.length > 18) return -1;
  let v: i64 = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
}
