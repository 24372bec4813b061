// guard-check: a test-only module exposing ai-prompt-guard's prompt extraction and pattern set to
// test/guard-extract.test.ts and bench/guard.ts (no host): the byte-level extraction the filter
// runs, the json-as reading it replaced (tree.ts), and the configured RegexSet's search.

import { extractPrompt, PromptStatus } from "../../../filters/ai-prompt-guard/prompt";
import { GuardConfig, parseConfig } from "../../../filters/ai-prompt-guard/config";
import { extractPromptTree } from "./tree";
import { validateJsonMembers } from "../../../lib/json/validate";
import { ambiguousMember } from "../../../lib/json/names";

let input = new ArrayBuffer(0);
let output = new ArrayBuffer(0);
let config: GuardConfig | null = null;

/** Makes room for `len` input bytes and returns where to write them. */
export function inputBuffer(len: i32): usize {
  input = new ArrayBuffer(len);
  return changetype<usize>(input);
}

export function outputPtr(): usize {
  return changetype<usize>(output);
}
export function outputLen(): i32 {
  return output.byteLength;
}

function body(len: i32): Uint8Array {
  return Uint8Array.wrap(input, 0, len);
}

/** The filter's extraction of the body in the first `len` input bytes: the status; the text (Ok) or the reason in the output. */
export function extract(len: i32, matchAllRoles: bool, latestOnly: bool): i32 {
  return extractWith(len, matchAllRoles, latestOnly, true);
}

/** The filter's extraction without the one-walk scan (validation, name checks, then its own walk of the messages). */
export function extractSlow(len: i32, matchAllRoles: bool, latestOnly: bool): i32 {
  return extractWith(len, matchAllRoles, latestOnly, false);
}

function extractWith(len: i32, matchAllRoles: bool, latestOnly: bool, oneWalk: bool): i32 {
  const p = extractPrompt(body(len), matchAllRoles, latestOnly, oneWalk);
  output = p.status == PromptStatus.Ok ? p.text().buffer : String.UTF8.encode(p.reason);
  return p.status;
}

/** The same through the json-as reference. */
export function extractTree(len: i32, matchAllRoles: bool, latestOnly: bool): i32 {
  const p = extractPromptTree(body(len), matchAllRoles, latestOnly);
  output = p.status == PromptStatus.Ok ? p.text.buffer : String.UTF8.encode(p.reason);
  return p.status;
}

/** Configures from the first `len` input bytes (the filter's JSON config): 1, or 0 with the error in the output. */
export function configure(len: i32): i32 {
  const r = parseConfig(body(len));
  if (r.error != null) {
    output = String.UTF8.encode(r.error!);
    return 0;
  }
  config = r.config;
  return 1;
}

/** The configured set's search over the first `len` input bytes: the groups (1 deny, 2 allow). */
export function search(len: i32): i32 {
  const c = config;
  if (c == null) return -1;
  return c.patterns!.search(changetype<usize>(input), len);
}

/** Extraction then search, as the filter does per request: the groups, or -1 when the body is refused. */
export function guard(len: i32): i32 {
  const c = config;
  if (c == null) return -1;
  const p = extractPrompt(body(len), c.matchAllRoles, c.allowAllConversationHistory);
  if (p.status != PromptStatus.Ok) return -1;
  return c.patterns!.search(p.textPtr, p.textLen);
}

/** Passes the configured set makes over a text. */
export function passes(): i32 {
  const c = config;
  return c == null ? -1 : c.patterns!.passes;
}

/** The passes extraction is made of, alone (for bench/guard.ts's breakdown). */
export function validateOnly(len: i32): i32 {
  return validateJsonMembers(body(len), 64, spans) == null ? 1 : 0;
}
export function ambiguousOnly(len: i32): i32 {
  return ambiguousMember(body(len)) == null ? 1 : 0;
}
const spans = new Array<i32>();
