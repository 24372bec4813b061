// ai-prompt-guard: allows or denies chat/completions prompts with regular expressions, as
// Kong's ai-prompt-guard does (deny patterns first, then at least one allow pattern must
// match; a refusal is Kong's 400 "bad request", so the guard does not reveal itself).
// Patterns run on lib/regex (linear time, PCRE syntax over bytes), compiled in on_configure into
// one automaton for both lists, so a prompt is read once whatever the number of patterns.
// The body is buffered with the runtime's helper; headers are never held or changed.

// Request callbacks only (lib/prompt/exports.ts says why).
export * from "../../lib/prompt/exports";
import { Action, HttpContext, RootContext, logDebug, logError, registerRootContext } from "../../lib/runtime";
import { ALLOW, DENY, GuardConfig, parseConfig } from "./config";
import { extractPrompt, PromptStatus } from "./prompt";
import { replyError } from "./reply";
import { StreamPool } from "../../lib/runtime/pool";
import { readRequestBodiesKept, requestContentLength } from "../../lib/prompt/read";
import { serializePath, setPropertyAt } from "../../lib/abi/properties";

/** Kong's answer for a denied prompt, an allow miss and a prompt it cannot read. */
const BAD_REQUEST = "bad request";

/**
 * Filter state with the verdict (Envoy: FILTER_STATE(wasm.ai.prompt_guard)), for the access log.
 * The key and the three verdicts are encoded once: every request sets one.
 */
const VERDICT_KEY = serializePath(["ai.prompt_guard"]);
const ALLOWED = String.UTF8.encode("allowed");
const DENIED = String.UTF8.encode("denied");
const INVALID = String.UTF8.encode("invalid");

class GuardRoot extends RootContext {
  config: GuardConfig = new GuardConfig();
  /** Deleted streams, reused (lib/runtime/pool.ts): a stream holds nothing once deleted. */
  readonly pool: StreamPool<GuardStream> = new StreamPool<GuardStream>();

  onConfigure(bytes: Uint8Array): bool {
    const r = parseConfig(bytes);
    if (r.error != null) {
      logError(r.error!);
      return false;
    }
    this.config = r.config!;
    this.pool.reset(this.config);
    return true;
  }

  createHttpContext(contextId: u32): HttpContext {
    const s = this.pool.take(contextId);
    return s != null ? s : new GuardStream(contextId, this, this.config);
  }
}

class GuardStream extends HttpContext {
  constructor(
    id: u32,
    root: RootContext,
    private readonly config: GuardConfig,
  ) {
    super(id, root);
  }

  onDelete(): void {
    changetype<GuardRoot>(this.root).pool.give(this, this.config);
  }

  /** Records the verdict: allowed, denied (deny match or allow miss) or invalid (unreadable request). */
  private verdict(v: ArrayBuffer): void {
    setPropertyAt(VERDICT_KEY, v);
  }

  /** Kong's 400 for a refused prompt. */
  private refuse(verdict: ArrayBuffer): i32 {
    this.verdict(verdict);
    replyError(this, 400, "ai_prompt_guard_bad_request", BAD_REQUEST, null);
    return Action.Pause;
  }

  private tooLarge(): i32 {
    this.verdict(INVALID);
    const limit = this.config.maxRequestBodySize;
    replyError(this, 413, "ai_prompt_guard_body_too_large", "request body is larger than " + limit.toString() + " bytes", "request_too_large");
    return Action.Pause;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    if (endOfStream) {
      // No body, so no prompt: Kong's guard refuses a request it cannot parse.
      logDebug("request has no body");
      this.verdict(INVALID);
      replyError(this, 400, "ai_prompt_guard_no_body", "request body is required and must be a JSON object", "invalid_request_body");
      return Action.Pause;
    }
    const limit = this.config.maxRequestBodySize;
    if (limit > 0) {
      // Read into kept memory: no allocation, no string (lib/prompt/read.ts).
      if (requestContentLength() > <i64>limit) return this.tooLarge();
    }
    this.bufferRequestBody = true;
    return Action.Continue;
  }

  onRequestBodyComplete(body: Uint8Array): i32 {
    const c = this.config;
    if (c.maxRequestBodySize > 0 && body.length > c.maxRequestBodySize) return this.tooLarge();
    const p = extractPrompt(body, c.matchAllRoles, c.allowAllConversationHistory);
    if (p.status == PromptStatus.BadJson) {
      this.verdict(INVALID);
      replyError(this, 400, "ai_prompt_guard_invalid_json", p.reason, "invalid_request_body");
      return Action.Pause;
    }
    if (p.status == PromptStatus.BadFormat) {
      logDebug("unsupported prompt format: " + p.reason);
      return this.refuse(INVALID);
    }
    // One pass for every pattern: it stops at the first deny match (the pattern whose match ends
    // first in the text is the one logged).
    const set = c.patterns!;
    const found = set.search(p.textPtr, p.textLen);
    if ((found & DENY) != 0) {
      logDebug("prompt matched deny_patterns[" + set.stopPattern.toString() + "]");
      return this.refuse(DENIED);
    }
    if (c.allowCount > 0 && (found & ALLOW) == 0) {
      logDebug("prompt matched none of the allow_patterns");
      return this.refuse(DENIED);
    }
    this.verdict(ALLOWED);
    return Action.Continue;
  }
}

// Request bodies are read into the kept buffer: this filter keeps none past its callback.
readRequestBodiesKept();
registerRootContext("", (id: u32): RootContext => new GuardRoot(id));
