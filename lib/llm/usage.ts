// Token usage: reading OpenAI-style usage objects, Kong's estimates when a provider reports
// none (reference §1.4), and cost per 1M tokens.

import { JSON } from "json-as";
import { getNumber, getObj } from "../json";
import { bytesAre, memberKeyEnd, memberKeyStart, memberValueEnd, memberValueStart, nextMemberAt, numberAt } from "../json/raw";
import { Usage } from "./provider";

/** The largest token count believed: a bigger one (or a negative one) is treated as absent. */
export const MAX_TOKEN_COUNT: f64 = 2147483648.0; // 2^31

let outOfRange = false;

/**
 * An upstream token count: -1 (absent) unless a finite number in [0, 2^31]. A number outside
 * that range is remembered, for the filter to log (lib/llm has no logger).
 */
export function tokenCount(v: f64): i64 {
  if (!isFinite(v)) return -1;
  if (v < 0 || v > MAX_TOKEN_COUNT) {
    outOfRange = true;
    return -1;
  }
  return <i64>v;
}

/** True once since the last call when a token count was out of range (and clears it). */
export function takeUsageOutOfRange(): bool {
  const r = outOfRange;
  outOfRange = false;
  return r;
}

function count(v: f64): i64 {
  return tokenCount(v);
}

/** Fills `u` from `{prompt_tokens, completion_tokens, total_tokens}` at obj.usage; false when absent. */
export function readOpenAiUsage(obj: JSON.Obj, u: Usage): bool {
  const o = getObj(obj, "usage");
  if (o == null) return false;
  const p = count(getNumber(o, "prompt_tokens"));
  const c = count(getNumber(o, "completion_tokens"));
  const t = count(getNumber(o, "total_tokens"));
  if (p >= 0) u.promptTokens = p;
  if (c >= 0) u.completionTokens = c;
  if (t >= 0) u.totalTokens = t;
  u.complete();
  return p >= 0 || c >= 0 || t >= 0;
}

/** readOpenAiUsage over validated bytes: `b[start, end)` is the `usage` value (any kind). */
export function readOpenAiUsageRaw(b: Uint8Array, start: i32, end: i32, u: Usage): bool {
  const bp = b.dataStart;
  const len = b.byteLength;
  // Kinds told by the first byte in place (rawKind's checks, without its calls).
  if (start < 0 || start >= len || load<u8>(bp + <usize>start) != 0x7b) return false;
  if (end > len) end = len;
  let p: f64 = NaN;
  let c: f64 = NaN;
  let t: f64 = NaN;
  // Last duplicate wins, raw key bytes, as json-as reads the same object. RawObjectIter's walk
  // through its free-function step: no iterator allocated, no method calls on one.
  let i = start < end ? start + 1 : end;
  while (i < end) {
    i = nextMemberAt(bp, i, end);
    if (i < 0) break;
    const ks = memberKeyStart;
    const n = memberKeyEnd - ks;
    if (n != 13 && n != 17 && n != 12) continue;
    const vs = memberValueStart;
    const k = load<u8>(bp + <usize>vs); // a value, inside b
    const v = k == 0x2d || <u32>k - 0x30 < 10 ? numberAt(bp, vs, memberValueEnd) : NaN;
    if (n == 13 && bytesAre(bp, ks, n, "prompt_tokens")) p = v;
    else if (n == 17 && bytesAre(bp, ks, n, "completion_tokens")) c = v;
    else if (n == 12 && bytesAre(bp, ks, n, "total_tokens")) t = v;
  }
  const pc = count(p);
  const cc = count(c);
  const tc = count(t);
  if (pc >= 0) u.promptTokens = pc;
  if (cc >= 0) u.completionTokens = cc;
  if (tc >= 0) u.totalTokens = tc;
  u.complete();
  return pc >= 0 || cc >= 0 || tc >= 0;
}

/** Whitespace-separated words in `s`. */
export function wordCount(s: string): i64 {
  let n: i64 = 0;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const space = c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d || c == 0x0b || c == 0x0c;
    if (!space && !inWord) n++;
    inWord = !space;
  }
  return n;
}

/** Kong's prompt estimate: words × 1.0 (× 1.8 for a stream), rounded. */
export function estimatePromptTokens(promptText: string, stream: bool): i64 {
  const w = <f64>wordCount(promptText);
  return <i64>Math.round(stream ? w * 1.8 : w);
}

/** Kong's streamed-completion estimate: ceil(length of the trimmed text / 4). */
export function estimateCompletionTokens(text: string): i64 {
  const t = text.trim();
  return <i64>Math.ceil(<f64>t.length / 4.0);
}

/** (prompt × input_cost + completion × output_cost) / 1e6; 0 unless both costs are set. */
export function usageCost(u: Usage, inputCost: f64, outputCost: f64): f64 {
  if (isNaN(inputCost) || isNaN(outputCost)) return 0;
  const p = <f64>max<i64>(u.promptTokens, 0);
  const c = <f64>max<i64>(u.completionTokens, 0);
  return (p * inputCost + c * outputCost) / 1000000.0;
}
