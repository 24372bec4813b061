// What a finished request cost, read from ai-proxy's filter state (lib/analytics/record.ts
// writes the `ai.*` keys and its record in `ai.facts` when the response completes, or in
// ai-proxy's own on_log for a stream cut short; this filter reads them in on_done, which Envoy
// runs after every filter's on_log). The record gives provider and counts in one host call; the
// keys are read when there is none (a producer that writes only them). Key values are untrusted
// text: a bad number reads as absent.

import { getPropertyString } from "../../lib/runtime";
import { FactsProperty, findRecord, labelAt, path, property, responseCode, R_COMPLETION, R_PROMPT, R_STATUS, R_TOTAL } from "../../lib/analytics/facts";
import { parseDecimal } from "../../lib/prompt/decimal";
import { CountStrategy } from "./config";

export class Served {
  /** The provider ai-proxy sent the request to; null when ai-proxy recorded nothing. */
  provider: string | null = null;
  /** The amount for the counting strategy; -1 when the usage is unknown (all counts 0 or absent). */
  amount: f64 = -1;
  /** The status the client got (0: none). */
  status: i64 = 0;
}

/** A plain decimal count of at most 15 digits at `key`, or -1. */
function count(key: string): i64 {
  const b = property(path(key));
  return b == null || b.byteLength > 15 ? -1 : parseDecimal(b);
}

/** A plain non-negative decimal (`0.00037`, `3.7e-7`), or -1. */
function decimal(key: string): f64 {
  const s = getPropertyString([key]);
  if (s == null || s.length == 0 || s.length > 64) return -1;
  const c0 = s.charCodeAt(0);
  if (c0 < 0x30 || c0 > 0x39) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x65 || c == 0x45 || c == 0x2d || c == 0x2b)) return -1;
  }
  const v = parseFloat(s);
  return isFinite(v) && v >= 0 ? v : -1;
}

const FACTS = new FactsProperty();
/** ai-proxy's record id in `ai.facts`: its key prefix. */
const PROXY_ID = String.UTF8.encode("ai.");

export function readServed(strategy: CountStrategy): Served {
  const r = new Served();
  let status = responseCode();
  let p: i64, c: i64, t: i64;
  const facts = FACTS.read();
  if (facts != null && findRecord(facts, PROXY_ID) && load<u32>(labelAt(facts.at, 0)) > 0) {
    const at = facts.at;
    const provider = labelAt(at, 0);
    r.provider = String.UTF8.decodeUnsafe(provider + 4, load<u32>(provider));
    if (status < 0) status = load<i64>(at + R_STATUS);
    p = load<i64>(at + R_PROMPT);
    c = load<i64>(at + R_COMPLETION);
    t = load<i64>(at + R_TOTAL);
  } else {
    r.provider = getPropertyString(["ai.provider_name"]);
    if (status < 0) status = count("ai.status");
    if (r.provider == null) return served(r, status);
    p = count("ai.prompt_tokens");
    c = count("ai.completion_tokens");
    t = count("ai.total_tokens");
  }
  served(r, status);
  if (p <= 0 && c <= 0 && t <= 0) return r; // ai-proxy writes 0 for a count it does not know
  if (strategy == CountStrategy.PromptTokens) r.amount = <f64>max<i64>(p, 0);
  else if (strategy == CountStrategy.CompletionTokens) r.amount = <f64>max<i64>(c, 0);
  else if (strategy == CountStrategy.TotalTokens) r.amount = <f64>(t > 0 ? t : max<i64>(p, 0) + max<i64>(c, 0));
  // The cost as ai-proxy wrote it: the record's nano-dollars would round it.
  else r.amount = max<f64>(decimal("ai.cost"), 0);
  return r;
}

function served(r: Served, status: i64): Served {
  r.status = status > 0 && status < 1000 ? status : 0;
  return r;
}
