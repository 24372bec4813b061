// The denial series: requests ai-rate-limiting-advanced refused, per denied provider. The
// limiter names them in filter state `ai.rate_limited` (comma-separated); such a request
// never reached ai-proxy, so it has no `ai` record and no other series counts it. The same
// names come in `ai.facts` (lib/analytics/facts.ts) when the limiter wrote it.

import { counter, taggedName } from "../../lib/runtime";
import { path, property } from "./facts";
import { labelValue } from "./series";

export const RATE_LIMITED = "ai_llm_rate_limited_total";
const KEYS = ["ai_provider", "workspace"];
const RATE_LIMITED_PATH = path("ai.rate_limited");

/** Counts the denial named in `ai.rate_limited` (read here when `ai.facts` is absent). */
export function emitRateLimited(workspace: string): void {
  emitRateLimitedOf(property(RATE_LIMITED_PATH), workspace); // absent on every request the limiter let through
}

/** Counts a denial of the providers in `raw` (comma-separated), if any. */
export function emitRateLimitedOf(raw: ArrayBuffer | null, workspace: string): void {
  if (raw == null || raw.byteLength == 0) return;
  const names = String.UTF8.decode(raw).split(",");
  for (let i = 0; i < names.length; i++) {
    const p = unchecked(names[i]);
    if (p.length > 0) counter(taggedName(RATE_LIMITED, KEYS, [labelValue(p), workspace])).increment(1);
  }
}
