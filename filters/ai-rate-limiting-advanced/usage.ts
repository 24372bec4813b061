// What a finished request cost, read from ai-proxy's filter state (filters/ai-proxy/analytics.ts
// writes the `ai.*` keys when the response completes, or in its own on_log for a stream cut
// short; this filter reads them in on_done, which Envoy runs after every filter's on_log).
// Values are untrusted text: a bad number reads as absent.

import { getPropertyInt, getPropertyString } from "../../lib/runtime";
import { CountStrategy } from "./config";

export class Served {
  /** The provider ai-proxy sent the request to; null when ai-proxy recorded nothing. */
  provider: string | null = null;
  /** The amount for the counting strategy; -1 when the usage is unknown (all counts 0 or absent). */
  amount: f64 = -1;
  /** The status the client got (0: none). */
  status: i64 = 0;
}

function count(key: string): i64 {
  const s = getPropertyString([key]);
  if (s == null || s.length == 0 || s.length > 15) return -1;
  let v: i64 = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <i64>(c - 0x30);
  }
  return v;
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

export function readServed(strategy: CountStrategy): Served {
  const r = new Served();
  r.provider = getPropertyString(["ai.provider_name"]);
  let status = getPropertyInt(["response", "code"], -1);
  if (status < 0) status = count("ai.status");
  r.status = status > 0 && status < 1000 ? status : 0;
  if (r.provider == null) return r;
  const p = count("ai.prompt_tokens");
  const c = count("ai.completion_tokens");
  const t = count("ai.total_tokens");
  if (p <= 0 && c <= 0 && t <= 0) return r; // ai-proxy writes 0 for a count it does not know
  if (strategy == CountStrategy.PromptTokens) r.amount = <f64>max<i64>(p, 0);
  else if (strategy == CountStrategy.CompletionTokens) r.amount = <f64>max<i64>(c, 0);
  else if (strategy == CountStrategy.TotalTokens) r.amount = <f64>(t > 0 ? t : max<i64>(p, 0) + max<i64>(c, 0));
  else r.amount = max<f64>(decimal("ai.cost"), 0);
  return r;
}
