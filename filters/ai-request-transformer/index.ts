// ai-request-transformer: the client's body goes to an LLM with the configured prompt, and the
// LLM's answer (or the first match of transformation_extract_pattern in it) is forwarded
// upstream in its place (Kong's ai-request-transformer, reference §7). See README.md.
//
// Envoy's router opens the upstream request as soon as the request headers pass this filter.
// With allow_on_headers_stop_iteration (Envoy's PluginConfig field, mirrored in this filter's
// configuration) the headers are held until the body is transformed, so a failed transform
// never reaches the upstream at all and content-length is set to the new body's length. On
// stock Envoy the headers must pass (a Pause would hold the body from us too), content-length
// is dropped (the body goes chunked), and a failed transform resets the upstream request
// before any body byte is sent.

export * from "../../lib/runtime/exports";
import { Action, HttpContext, RootContext, registerRootContext } from "../../lib/runtime";
import { AnalyticsKeys } from "../../lib/analytics/record";
import { TransformerConfig } from "../../lib/transformer/config";
import { TransformerRoot } from "../../lib/transformer/root";
import { parseConfig } from "./config";
import { decimalHeader, TransformerStream } from "../../lib/transformer/stream";
import { Introspection } from "../../lib/llm/introspect";

const NAME = "ai-request-transformer";
const KEYS = new AnalyticsKeys("ai." + NAME + ".", NAME);

class RequestTransformerRoot extends TransformerRoot {
  constructor(id: u32) {
    super(id, NAME, parseConfig);
  }

  createHttpContext(contextId: u32): HttpContext {
    return new RequestTransformerStream(contextId, this, this.config);
  }
}

class RequestTransformerStream extends TransformerStream {
  constructor(id: u32, root: RootContext, cfg: TransformerConfig) {
    super(id, root, cfg, NAME, KEYS);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    // A request without a body has nothing to transform (and Envoy cannot add one to it).
    if (endOfStream) return Action.Continue;
    if (this.missingCredential()) return Action.Pause;
    const max = this.cfg.maxRequestBodySize;
    const cl = decimalHeader(this.getRequestHeader("content-length"));
    if (max > 0 && cl > max) return this.tooLarge();
    // The body will change length: a stale content-length must not reach the upstream.
    this.removeRequestHeader("content-length");
    this.bufferRequestBody = true;
    return this.cfg.allowOnHeadersStopIteration ? Action.Pause : Action.Continue;
  }

  onRequestBodyComplete(body: Uint8Array): i32 {
    const max = this.cfg.maxRequestBodySize;
    if (max > 0 && <i64>body.length > max) return this.tooLarge();
    this.askLlm(body);
    return Action.Pause;
  }

  onLlmAnswer(r: Introspection): void {
    if (r.text == null) {
      this.fail(400, r.error!);
      return;
    }
    const text = r.text!;
    this.replaceRequestBody(text);
    if (this.cfg.allowOnHeadersStopIteration) this.replaceRequestHeader("content-length", text.length.toString());
    this.continueRequest();
  }

  private tooLarge(): i32 {
    this.fail(413, "request body is larger than max_request_body_size (" + this.cfg.maxRequestBodySize.toString() + " bytes)");
    return Action.Pause;
  }
}

registerRootContext("", (id: u32): RootContext => new RequestTransformerRoot(id));
