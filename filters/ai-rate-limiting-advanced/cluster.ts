// The cluster strategy: the windows live in Envoy's global rate limit service
// (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit, e.g. envoyproxy/ratelimit with
// Redis), reached with proxy_grpc_call. Each window is a descriptor
//   (ai_namespace, <namespace>) (ai_provider, <provider>) (ai_window, <seconds>) (ai_identifier, <hash>)
// with the configured limit as the descriptor's limit override, so the service's config only
// needs the domain. Admission sends every window twice in one request, in one Redis pipeline:
//   - hits_addend 0: a check that counts nothing; OVER_LIMIT exactly when the count is already
//     over the limit (Kong's rule);
//   - hits_addend = the reservation (only when reserving).
// Completion reports what the usage exceeded the reservation by. envoyproxy/ratelimit has no
// refunds (hits_addend is unsigned; no is_negative_hits in the pinned version), so a
// reservation above the real usage stays counted until the window ends, and so does the
// reservation of a request the check denied. With reservation.enabled false the filter is
// Kong's: check at admission, the real usage at completion.

import { CountStrategy, RateLimitConfig } from "./config";
import { Descriptor, DescriptorEntry, encodeRateLimitRequest, RateLimitResponse, unitOf } from "../../lib/ratelimit/rls-proto";
import { WindowState } from "./windows";

export const RLS_SERVICE = "envoy.service.ratelimit.v3.RateLimitService";
export const RLS_METHOD = "ShouldRateLimit";

function entries(cfg: RateLimitConfig, s: WindowState, id: string): DescriptorEntry[] {
  return [
    new DescriptorEntry("ai_namespace", cfg.namespace),
    new DescriptorEntry("ai_provider", s.w.provider),
    new DescriptorEntry("ai_window", s.w.size.toString()),
    new DescriptorEntry("ai_identifier", id),
  ];
}

function descriptor(cfg: RateLimitConfig, s: WindowState, id: string, hits: u64): Descriptor {
  return new Descriptor(entries(cfg, s, id), <u32>s.w.limit, unitOf(s.w.size), hits);
}

/** The admission request: per window a check (hits 0), then the reservation when `reserve` > 0. */
export function admissionRequest(cfg: RateLimitConfig, states: WindowState[], id: string, reserve: u64): ArrayBuffer {
  const d = new Array<Descriptor>();
  for (let i = 0; i < states.length; i++) {
    const s = unchecked(states[i]);
    s.base = id;
    d.push(descriptor(cfg, s, id, 0));
    if (reserve > 0) d.push(descriptor(cfg, s, id, reserve));
  }
  return encodeRateLimitRequest(cfg.rlsDomain, d);
}

/** Reads the admission answer into the states; false when it does not match the request. */
export function applyAdmission(states: WindowState[], reserve: u64, r: RateLimitResponse): bool {
  const per = reserve > 0 ? 2 : 1;
  if (r.statuses.length != states.length * per) return false;
  for (let i = 0; i < states.length; i++) {
    const s = unchecked(states[i]);
    const check = unchecked(r.statuses[i * per]);
    if (check.limit > 0) s.limit = <f64>check.limit;
    s.denied = check.code == 2;
    // The check counted nothing: remaining = limit − count, so the count is known unless over.
    s.rate = s.denied ? s.limit + 1 : s.limit - <f64>check.remaining;
    s.reset = check.resetSeconds > 0 ? check.resetSeconds : 1;
    if (per == 2) s.reserved = <f64>reserve;
  }
  return true;
}

/** A charge of `hits` to every window of `provider` (every window when null). */
export function chargeRequest(cfg: RateLimitConfig, states: WindowState[], provider: string | null, hits: u64): ArrayBuffer | null {
  const d = new Array<Descriptor>();
  for (let i = 0; i < states.length; i++) {
    const s = unchecked(states[i]);
    if (provider != null && s.w.provider != provider!) continue;
    d.push(descriptor(cfg, s, s.base, hits));
    s.reserved += <f64>hits;
  }
  return d.length > 0 ? encodeRateLimitRequest(cfg.rlsDomain, d) : null;
}

/** Hits are whole: a token amount rounded up (the cost strategy is refused with cluster). */
export function hitsOf(cfg: RateLimitConfig, amount: f64): u64 {
  if (!(amount > 0) || cfg.strategy == CountStrategy.Cost) return 0;
  return amount >= 1.8e19 ? <u64>1.8e19 : <u64>Math.ceil(amount);
}
