// ai-azure-content-safety: moderates prompts (INPUT), answers (OUTPUT) or both with Azure AI
// Content Safety's text:analyze, as Kong's plugin does (reference §10). It goes before
// ai-proxy: on the request path it sees the client's OpenAI body, and since Envoy runs
// response callbacks in reverse order it sees ai-proxy's OpenAI-format answer.
// - Input: the body is buffered, the text sent (split at 10,000 characters, every piece in
//   parallel), and the request held until every piece answered: a breach is Kong's 400,
//   the provider is never called.
// - Output, non-streamed: the answer is buffered and checked before it leaves. With
//   hold_response_headers (Envoy's allow_on_headers_stop_iteration) the headers wait too and a
//   blocked answer becomes a 400; without it the status already left and only the body changes.
// - Output, streamed: see stream-guard.ts; events leave once the text they carry passed.

export * from "../../lib/runtime/exports";
import {
  Action, BufferType, WasmResult, Context, HeaderPair, HttpCallResponse, HttpContext, RootContext, appendBuffer, callService,
  logError, logInfo, logWarn, monotonicNanos, registerRootContext,
} from "../../lib/runtime";
import { readEnvironment } from "../../lib/runtime/env";
import { errorBody, errorTypeForStatus } from "../../lib/llm/errors";
import { parseConfig, SafetyConfig } from "./config";
import { analyzeBody, Failure, MAX_TEXT_CHARS, SPLIT_LOOKBACK, Verdict } from "./azure";
import { answerText, cutPoints, decodeText, NOT_JSON, promptText } from "./text";
import { ByteBuilder } from "../../lib/llm/json-writer";
import { StreamGuard } from "./stream-guard";
import { Audit } from "./audit";
import { readToken, TokenCache } from "./identity";
import { setEffectiveContext } from "../../lib/abi/context";
import { setCurrentContext, streamById } from "../../lib/runtime/state";
import { readRequestBodiesKept } from "../../lib/prompt/read";

/** Kong's messages. */
const INPUT_BLOCKED = "request failed content safety check";
const AUTH_FAILED = "failed to authenticate with Azure Content Services";
/** This gateway's, where Kong has no message (its 500 has no body; an answer is not Kong's to check in 3.9). */
const OUTPUT_BLOCKED = "response failed content safety check";
const INPUT_UNCHECKED = "request could not be checked with Azure Content Services";
const OUTPUT_UNCHECKED = "response could not be checked with Azure Content Services";
/** Kong's status for a breach (its docs: "the request is stopped with a 400 status"); used for answers too. */
const BLOCK_STATUS: u32 = 400;

const JSON_TYPE: HeaderPair[] = [new HeaderPair("content-type", "application/json")];
const EMPTY = new Uint8Array(0);

const enum Answer {
  None = 0,
  Json = 1,
  Sse = 2,
}

class SafetyRoot extends RootContext {
  config: SafetyConfig = new SafetyConfig();
  /** The managed-identity token of this worker. */
  tokens: TokenCache = new TokenCache();

  /** The token call answered: keep the token and let every waiting stream go on. */
  tokenArrived(r: HttpCallResponse): void {
    const cache = this.tokens;
    cache.fetching = false;
    const a = readToken(r.failed ? 0 : r.status, r.body);
    if (a.error.length == 0) cache.store(a, monotonicNanos());
    const waiters = cache.waiters;
    cache.waiters = [];
    for (let i = 0; i < waiters.length; i++) {
      const s = streamById(waiters[i]);
      if (s == null || setEffectiveContext(waiters[i]) != WasmResult.Ok) continue; // that stream has ended
      setCurrentContext(s);
      changetype<SafetyStream>(s).tokenReady(a.error);
    }
  }

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes, readEnvironment());
    if (r.error != null) {
      logError(r.error!);
      return false;
    }
    this.config = r.config!;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    return new SafetyStream(contextId, this, this.config);
  }
}

/** One check of one text (its pieces run in parallel). */
class Check {
  verdict: Verdict = new Verdict();
  pending: i32 = 0;
  /** Waiting for the managed-identity token (counted in pending). */
  awaitingToken: bool = false;
  startNs: u64 = 0;
  constructor(
    public output: bool,
    /** JSON-escaped. */
    public text: Uint8Array,
  ) {}
}

/** The token call's callback (on the stream that made it; the token serves every waiting stream). */
function onToken(origin: Context, r: HttpCallResponse): void {
  changetype<SafetyRoot>(changetype<SafetyStream>(origin).root).tokenArrived(r);
}

/** The http-call callback: every answer goes back to the stream that asked. */
function onAnswer(origin: Context, r: HttpCallResponse): void {
  changetype<SafetyStream>(origin).onAnswer(r);
}

/**
 * Kong's message in the gateway's OpenAI error shape. Kong's own body is {"error":{"message"}};
 * ai-proxy, later in the chain, rewrites every 4xx/5xx that passes it into the OpenAI shape
 * anyway, so the filter writes that shape itself and the body is the same in any chain.
 */
function kongError(message: string, status: u32): Uint8Array {
  return errorBody(message, errorTypeForStatus(status), null);
}

function sseEvent(json: Uint8Array): Uint8Array {
  const head = Uint8Array.wrap(String.UTF8.encode("data: "));
  const out = new Uint8Array(head.length + json.length + 2);
  out.set(head, 0);
  out.set(json, head.length);
  out[out.length - 2] = 0x0a;
  out[out.length - 1] = 0x0a;
  return out;
}

function buf(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}

class SafetyStream extends HttpContext {
  private check: Check | null = null;
  private audit: Audit = new Audit();
  private answer: Answer = Answer.None;
  private guard: StreamGuard | null = null;
  /** The last body callback (end of stream) returned Pause: Envoy holds the tail in its buffer. */
  private heldAtEnd: bool = false;
  /** A streamed answer was blocked: later chunks are dropped. */
  private streamBlocked: bool = false;
  /** The error event still to be sent (on the next body callback). */
  private errorEvent: Uint8Array | null = null;
  private inputMs: i64 = 0;
  private outputMs: i64 = 0;

  constructor(
    id: u32,
    root: RootContext,
    private readonly cfg: SafetyConfig,
  ) {
    super(id, root);
  }

  // ---- checks ------------------------------------------------------------------------------

  private start(text: Uint8Array, output: bool): Check {
    const c = this.cfg;
    const check = new Check(output, text);
    check.startNs = monotonicNanos();
    this.audit.describe(this, c);
    this.check = check;
    const id = c.identity;
    if (id != null) {
      const cache = changetype<SafetyRoot>(this.root).tokens;
      if (!cache.valid(monotonicNanos())) {
        check.awaitingToken = true;
        check.pending = 1;
        cache.waiters.push(this.id);
        if (!cache.fetching) {
          if (callService(this, id.endpoint, id.method, id.headers, id.body, c.httpTimeout, onToken) >= 0) cache.fetching = true;
          else {
            cache.waiters = [];
            check.awaitingToken = false;
            check.pending = 0;
            check.verdict.fail(Failure.Auth, "the host refused the token call to cluster '" + id.endpoint.cluster + "' (is it defined?)");
          }
        }
        return check;
      }
    }
    this.dispatch(check);
    return check;
  }

  /** Sends every piece of the check's text to Azure, in parallel. */
  private dispatch(check: Check): void {
    const c = this.cfg;
    let headers = c.callHeaders;
    if (c.identity != null) {
      headers = [headers[0], new HeaderPair("authorization", "Bearer " + changetype<SafetyRoot>(this.root).tokens.token)];
    }
    const text = check.text;
    const ends = cutPoints(text, MAX_TEXT_CHARS, SPLIT_LOOKBACK);
    let from = 0;
    for (let i = 0; i < ends.length; i++) {
      const token = callService(this, c.endpoint, "POST", headers, analyzeBody(c, text, from, ends[i]), c.httpTimeout, onAnswer);
      from = ends[i];
      if (token < 0) {
        check.verdict.fail(Failure.Service, "the host refused the call to cluster '" + c.endpoint.cluster + "' (is it defined?)");
        break;
      }
      check.pending++;
    }
  }

  /** The managed-identity token arrived ("" ) or could not be had (`failure`). */
  tokenReady(failure: string): void {
    const check = this.check;
    if (check == null || !check.awaitingToken) return;
    check.awaitingToken = false;
    check.pending = 0;
    if (failure.length > 0) check.verdict.fail(Failure.Auth, "managed identity: " + failure);
    else this.dispatch(check);
    if (check.pending > 0) return;
    this.check = null;
    this.finish(check, true);
  }

  onAnswer(r: HttpCallResponse): void {
    const check = this.check;
    if (check == null) return;
    check.verdict.read(this.cfg, r.failed ? 0 : r.status, r.body);
    if (--check.pending > 0) return;
    this.check = null;
    this.finish(check, true);
  }

  /** Acts on a finished check; `later` when it finished in an http-call callback (the stream is held). */
  private finish(check: Check, later: bool): i32 {
    const elapsed = <i64>((monotonicNanos() - check.startNs) / 1000000);
    if (check.output) this.outputMs += elapsed;
    else this.inputMs += elapsed;
    this.audit.latency(this, check.output, check.output ? this.outputMs : this.inputMs);
    if (this.guard != null) this.audit.heldText(this, this.guard!.maxHeldText);
    const v = check.verdict;
    v.sortBreaches(this.cfg);
    if (v.failure != Failure.None) {
      // An endpoint that echoes the request into its error must not put the key in the log.
      let reason = v.reason;
      if (this.cfg.key.length >= 4) reason = reason.replaceAll(this.cfg.key, "<content_safety_key>");
      const token = changetype<SafetyRoot>(this.root).tokens.token;
      if (token.length >= 4) reason = reason.replaceAll(token, "<token>");
      logWarn(reason + (this.cfg.stopOnError ? "; refusing (stop_on_error)" : "; letting it through unchecked (stop_on_error is false)"));
    }
    if (!check.output) return this.inputDone(check, later);
    if (this.answer == Answer.Json) return this.jsonDone(check, later);
    return this.streamDone(check);
  }

  /** The block message: Kong's, with the detail when reveal_failure_reason. */
  private message(base: string, v: Verdict): string {
    return this.cfg.revealFailureReason ? base + ": " + v.detail() : base;
  }

  private noteBlock(check: Check, message: string): void {
    const v = check.verdict;
    const text = this.cfg.logBlockedContent ? decodeText(check.text) : "";
    this.audit.blocked(this, this.cfg, check.output, v, message, text);
    logInfo((check.output ? "answer" : "request") + " blocked: " + v.detail() + (this.cfg.logBlockedContent ? "; text: " + text : ""));
  }

  // ---- input -------------------------------------------------------------------------------

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    // The answer must reach this filter readable: no compressed upstream bodies.
    if (this.cfg.guardOutput) this.removeRequestHeader("accept-encoding");
    if (!this.cfg.guardInput) return Action.Continue;
    if (endOfStream) return this.reply(400, "ai_azure_content_safety_bad_request", kongError(NOT_JSON, 400));
    this.bufferRequestBody = true;
    return Action.Continue;
  }

  onRequestBodyComplete(body: Uint8Array): i32 {
    const p = promptText(body, this.cfg.textSource);
    if (p.error != null) return this.reply(400, "ai_azure_content_safety_bad_request", kongError(p.error!, 400));
    if (p.text.length == 0) return Action.Continue; // nothing to moderate (e.g. images only)
    const check = this.start(p.text, false);
    if (check.pending == 0) {
      this.check = null;
      return this.finish(check, false);
    }
    return Action.Pause;
  }

  private inputDone(check: Check, later: bool): i32 {
    const v = check.verdict;
    if (v.failure != Failure.None && this.cfg.stopOnError) {
      const auth = v.failure == Failure.Auth;
      return this.reply(500, "ai_azure_content_safety_unavailable", kongError(auth ? AUTH_FAILED : INPUT_UNCHECKED, 500));
    }
    if (v.failure == Failure.None && v.blocked) {
      const m = this.message(INPUT_BLOCKED, v);
      this.noteBlock(check, m);
      return this.reply(BLOCK_STATUS, "ai_azure_content_safety_blocked", kongError(m, BLOCK_STATUS));
    }
    if (later) this.continueRequest();
    return Action.Continue;
  }

  private reply(status: u32, details: string, body: Uint8Array): i32 {
    this.sendLocalResponse(status, details, buf(body), JSON_TYPE);
    return Action.Pause;
  }

  // ---- output ------------------------------------------------------------------------------

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    if (!this.cfg.guardOutput || endOfStream) return Action.Continue;
    const status = this.getResponseHeader(":status");
    if (status == null || status.length != 3 || status.charCodeAt(0) != 0x32) return Action.Continue; // only 2xx answers
    const ct = this.getResponseHeader("content-type");
    const type = ct != null ? ct.toLowerCase() : "";
    if (type.startsWith("text/event-stream")) {
      this.answer = Answer.Sse;
      this.guard = new StreamGuard(this.cfg.responseBufferSize);
      this.removeResponseHeader("content-length");
      return Action.Continue;
    }
    if (!type.includes("json")) return Action.Continue;
    this.answer = Answer.Json;
    this.bufferResponseBody = true;
    if (this.cfg.holdResponseHeaders) return Action.Pause;
    this.removeResponseHeader("content-length");
    return Action.Continue;
  }

  onResponseBodyComplete(body: Uint8Array): i32 {
    const out = new ByteBuilder(body.length);
    answerText(body, out);
    if (out.len == 0) return this.releaseHeld(false);
    const check = this.start(out.toBytes(), true);
    if (check.pending == 0) {
      this.check = null;
      return this.finish(check, false);
    }
    return Action.Pause;
  }

  /** Lets a held non-streamed answer go. */
  private releaseHeld(later: bool): i32 {
    if (later || this.cfg.holdResponseHeaders) this.continueResponse();
    return Action.Continue;
  }

  private jsonDone(check: Check, later: bool): i32 {
    const v = check.verdict;
    let status: u32 = 0;
    let body: Uint8Array = EMPTY;
    if (v.failure != Failure.None) {
      if (!this.cfg.stopOnError) return this.releaseHeld(later);
      status = 500;
      body = errorBody(v.failure == Failure.Auth ? AUTH_FAILED : OUTPUT_UNCHECKED, "api_error", null);
    } else if (v.blocked) {
      const m = this.message(OUTPUT_BLOCKED, v);
      this.noteBlock(check, m);
      status = BLOCK_STATUS;
      body = errorBody(m, "invalid_request_error", "content_filter");
    } else {
      return this.releaseHeld(later);
    }
    if (this.cfg.holdResponseHeaders) {
      // Headers not sent yet: Envoy sends this reply straight to the client (sendLocalReply's
      // second branch), replacing the held response.
      return this.reply(status, "ai_azure_content_safety_blocked", body);
    }
    // The status already left (Envoy cannot hold headers without allow_on_headers_stop_iteration):
    // only the body can change.
    this.replaceResponseBody(body);
    if (later) this.continueResponse();
    return Action.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): i32 {
    if (this.answer != Answer.Sse) return Action.Continue;
    const g = this.guard!;
    if (this.streamBlocked) return this.dropChunk();
    const chunk = this.getResponseBody();
    g.push(chunk != null ? chunk : EMPTY, endOfStream);
    this.pumpChecks();
    if (this.streamBlocked) return this.dropChunk();
    const out = g.release();
    this.replaceResponseBody(out);
    if (endOfStream && !g.drained) {
      // Envoy keeps what this callback leaves in its buffer, with the end of stream, until
      // continue: the last checks' answers append to it.
      this.heldAtEnd = true;
      return Action.Pause;
    }
    return Action.Continue;
  }

  /** After a breach: the error event once, then nothing. The stream ends without [DONE]. */
  private dropChunk(): i32 {
    const e = this.errorEvent;
    this.errorEvent = null;
    this.replaceResponseBody(e != null ? e : EMPTY);
    return Action.Continue;
  }

  /** Starts the next due check of a streamed answer (one at a time). */
  private pumpChecks(): void {
    const g = this.guard!;
    while (this.check == null && !this.streamBlocked) {
      const text = g.nextCheck();
      if (text == null) return;
      const check = this.start(text, true);
      if (check.pending > 0) return;
      // Refused at once (no call in flight): fail closed or let the segment through.
      this.check = null;
      logWarn(check.verdict.reason);
      if (this.cfg.stopOnError) this.blockStream(errorBody(OUTPUT_UNCHECKED, "api_error", null));
      else g.passed();
    }
  }

  private streamDone(check: Check): i32 {
    const g = this.guard!;
    const v = check.verdict;
    if (v.failure != Failure.None && this.cfg.stopOnError) {
      this.blockStream(errorBody(v.failure == Failure.Auth ? AUTH_FAILED : OUTPUT_UNCHECKED, "api_error", null));
    } else if (v.failure == Failure.None && v.blocked) {
      const m = this.message(OUTPUT_BLOCKED, v);
      this.noteBlock(check, m);
      this.blockStream(errorBody(m, "invalid_request_error", "content_filter"));
    } else {
      g.passed();
      this.pumpChecks();
    }
    if (!this.heldAtEnd) return Action.Continue; // released with the next chunk
    if (this.streamBlocked) {
      const e = this.errorEvent;
      this.errorEvent = null;
      if (e != null) appendBuffer(BufferType.HttpResponseBody, e);
      this.heldAtEnd = false;
      this.continueResponse();
    } else {
      const out = g.release();
      if (out.length > 0) appendBuffer(BufferType.HttpResponseBody, out);
      if (g.drained) {
        this.heldAtEnd = false;
        this.continueResponse();
      }
    }
    return Action.Continue;
  }

  private blockStream(error: Uint8Array): void {
    this.guard!.discard();
    this.streamBlocked = true;
    this.errorEvent = sseEvent(error);
  }
}

// Request bodies are read into the kept buffer: this filter keeps none past its callback.
readRequestBodiesKept();
registerRootContext("", (id: u32): RootContext => new SafetyRoot(id));
