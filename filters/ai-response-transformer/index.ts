// ai-response-transformer: the upstream's response body goes to an LLM with the configured
// prompt, and the client gets the LLM's answer (Kong's ai-response-transformer, reference §8).
// See README.md.
//
// Kong makes the upstream call itself; here Envoy's router does, and this filter rewrites the
// response on its way back. What it may change depends on whether the response headers can be
// held while the body is read (Envoy source/extensions/common/wasm/context.cc
// Context::encodeHeaders and proxy-wasm-cpp-host's convertVmCallResultToFilterHeadersStatus):
// a Pause from on_response_headers is StopIteration (headers held, body still delivered) only
// with the PluginConfig field allow_on_headers_stop_iteration: true; on stock Envoy it is
// StopAllIterationAndWatermark, which holds the body from this filter too, so nothing would
// ever resume the stream (source/common/http/filter_manager.cc handleDataIfStopAll). The
// filter cannot read that Envoy field, so its configuration carries the same name:
//
// - allow_on_headers_stop_iteration false (stock Envoy): the headers pass at once with the
//   upstream status (content-length, content-encoding and transfer-encoding dropped), the body
//   is buffered and replaced with the LLM's text. An LLM error can then only travel in the body.
//   parse_llm_response_json_instructions needs held headers: such a response is answered 500
//   saying so, before its headers leave (a load-time warning says it too).
// - allow_on_headers_stop_iteration true: the headers are held until the LLM has answered, so
//   errors are Kong's 400/500 replies, instructions set status and headers, and content-length
//   is the new body's length.

export * from "../../lib/runtime/exports";
import { Action, HttpContext, RootContext, logWarn, registerRootContext } from "../../lib/runtime";
import { AnalyticsKeys } from "../../lib/analytics/record";
import { NEEDS_STOP_ITERATION, TransformerConfig } from "../../lib/transformer/config";
import { TransformerRoot } from "../../lib/transformer/root";
import { parseConfig } from "./config";
import { TransformerStream } from "../../lib/transformer/stream";
import { Introspection } from "../../lib/llm/introspect";
import { errorBody } from "../../lib/llm/errors";
import { gunzip, isGzip } from "../../lib/compress/gunzip";
import { parseInstructions } from "./instructions";

const NAME = "ai-response-transformer";
const CODE_DETAILS: string[] = ["response", "code_details"];
const KEYS = new AnalyticsKeys("ai." + NAME + ".", NAME);
/** The most an inflated upstream body may grow to (Envoy's default buffer limit is 1 MiB compressed). */
const MAX_INFLATED: i32 = 64 << 20;

class ResponseTransformerRoot extends TransformerRoot {
  constructor(id: u32) {
    super(id, NAME, parseConfig);
  }

  createHttpContext(contextId: u32): HttpContext {
    return new ResponseTransformerStream(contextId, this, this.config);
  }
}

class ResponseTransformerStream extends TransformerStream {
  gzip: bool = false;
  /** The response headers are held (allow_on_headers_stop_iteration) and can still change. */
  held: bool = false;

  constructor(id: u32, root: RootContext, cfg: TransformerConfig) {
    super(id, root, cfg, NAME, KEYS);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    // The body must be read: ask for it uncompressed (a gzip answer is still inflated).
    this.removeRequestHeader("accept-encoding");
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    if (this.replied) return Action.Continue; // our own local reply
    // Envoy's own replies (no healthy upstream, timeouts, …) are not the upstream's answer:
    // they pass untouched (Kong answers a failed upstream call itself, without the LLM).
    const details = this.getPropertyString(CODE_DETAILS);
    if (details != null && details != "via_upstream") return Action.Continue;
    // A response without a body has nothing to transform (and Envoy cannot add one to it).
    if (endOfStream) return Action.Continue;
    const cfg = this.cfg;
    if (cfg.parseJsonInstructions && !cfg.allowOnHeadersStopIteration) {
      this.fail(500, NEEDS_STOP_ITERATION);
      return Action.Pause;
    }
    if (this.missingCredential()) return Action.Pause;
    const enc = this.getResponseHeader("content-encoding");
    if (enc != null && enc.length > 0 && enc.toLowerCase() != "identity") {
      if (!isGzip(enc)) {
        this.fail(502, "the upstream response is encoded with '" + enc + "', which " + NAME + " cannot decode (only gzip)");
        return Action.Pause;
      }
      this.gzip = true;
    }
    // Kong strips these from the upstream's headers: the body is replaced.
    this.removeResponseHeader("content-length");
    this.removeResponseHeader("content-encoding");
    this.removeResponseHeader("transfer-encoding");
    this.bufferResponseBody = true;
    this.held = cfg.allowOnHeadersStopIteration;
    return this.held ? Action.Pause : Action.Continue;
  }

  onResponseBodyComplete(body: Uint8Array): i32 {
    if (this.replied) return Action.Continue;
    let input = body;
    if (this.gzip) {
      const g = gunzip(body, MAX_INFLATED);
      if (g.data == null) {
        this.failAfterHeaders(502, "the upstream's gzip body cannot be inflated: " + g.error!);
        return this.held ? Action.Pause : Action.Continue;
      }
      input = g.data!;
    }
    this.askLlm(input);
    return Action.Pause;
  }

  onLlmAnswer(r: Introspection): void {
    if (r.text == null) {
      this.failAfterHeaders(400, r.error!);
      if (!this.held) this.continueResponse();
      return;
    }
    let body = r.text!;
    if (this.cfg.parseJsonInstructions) {
      const ins = parseInstructions(body);
      if (ins.error != null) {
        this.fail(500, ins.error!);
        return;
      }
      this.replaceResponseHeader(":status", ins.status.toString());
      for (let i = 0; i < ins.headers.length; i++) this.replaceResponseHeader(unchecked(ins.headers[i]).key, unchecked(ins.headers[i]).value);
      body = ins.body;
    }
    this.replaceResponseBody(body);
    if (this.held) this.replaceResponseHeader("content-length", body.length.toString());
    this.continueResponse();
  }

  /**
   * Kong's error reply when the headers are still held; on stock Envoy they have gone out with
   * the upstream's status, so the error becomes the body and the log says what happened.
   */
  private failAfterHeaders(status: u32, message: string): void {
    if (this.held) {
      this.fail(status, message);
      return;
    }
    logWarn(message + " (the upstream's status and headers were already sent; the error is the body)");
    const b = errorBody(message, "api_error", null);
    this.replaceResponseBody(b);
  }
}

registerRootContext("", (id: u32): RootContext => new ResponseTransformerRoot(id));
