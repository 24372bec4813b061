// A request's reservation: an upper bound of what it can cost, so that in-flight requests
// cannot overshoot the limit together.
// - Prompt: the request body's size in bytes. A BPE token covers at least one byte of the
//   text, and the JSON around the text (keys, quotes, roles) covers the per-message tokens,
//   so the bound holds for every tokenizer that works on bytes; it is usually 3-5x too high.
//   Filters after this one that add text (ai-prompt-decorator, ai-prompt-template) are not
//   seen: their additions are settled from the real usage.
// - Completion: max_completion_tokens or max_tokens (the larger when both), else the
//   configured `reservation.completion_tokens`; 0 for an embeddings request.

import { validateJson } from "../../lib/json/validate";
import { RawKind, rawFind, rawKind, rawNumber, rawStart, spanEnd, spanStart } from "../../lib/json/raw";
import { DEFAULT_MAX_DEPTH } from "../../lib/json/read";
import { MAX_COMPLETION_BOUND } from "./config";

export class Estimate {
  constructor(
    public prompt: i64,
    public completion: i64,
  ) {}
}

/** A positive integer limit at `key`, clamped to MAX_COMPLETION_BOUND; -1 when absent or not one. */
function bound(body: Uint8Array, end: i32, key: string): i64 {
  const s = rawFind(body, rawStart(body), end, key);
  if (s < 0) return -1;
  const a = spanStart(s);
  if (rawKind(body, a) != RawKind.Number) return -1;
  const v = rawNumber(body, a, spanEnd(s));
  // Negative, zero or fractional: ai-proxy answers 400; reserve the default meanwhile.
  if (!isFinite(v) || v < 1 || v != Math.floor(v)) return -1;
  return v >= <f64>MAX_COMPLETION_BOUND ? MAX_COMPLETION_BOUND : <i64>v;
}

/** The bound for a request body (`path` tells an embeddings request). */
export function estimateBody(body: Uint8Array, path: string, defaultCompletion: i64): Estimate {
  const prompt = <i64>body.length;
  if (validateJson(body, DEFAULT_MAX_DEPTH) != null) return new Estimate(prompt, defaultCompletion);
  const start = rawStart(body);
  if (start >= body.length || rawKind(body, start) != RawKind.Object) return new Estimate(prompt, defaultCompletion);
  const end = body.length;
  const mt = bound(body, end, "max_tokens");
  const mct = bound(body, end, "max_completion_tokens");
  let completion = max<i64>(mt, mct);
  if (completion < 0) {
    const q = path.indexOf("?");
    const p = q >= 0 ? path.substring(0, q) : path;
    completion = p.endsWith("/embeddings") || p.endsWith("/embed") ? 0 : defaultCompletion;
  }
  return new Estimate(prompt, completion);
}

/** Content-lengths past 15 digits are no size a body has: the prompt bound then waits for the body. */
const MAX_CONTENT_LENGTH: i64 = 999_999_999_999_999;

/**
 * The bound before the body is read: its content-length (lib/prompt/read's answer: -1 when not
 * a decimal, NO_CONTENT_LENGTH when absent; 0 then) and the default completion.
 */
export function estimateHeaders(contentLength: i64, defaultCompletion: i64): Estimate {
  return new Estimate(contentLength >= 0 && contentLength <= MAX_CONTENT_LENGTH ? contentLength : 0, defaultCompletion);
}
