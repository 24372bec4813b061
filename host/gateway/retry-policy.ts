// The router's retry state for one request (source/common/router/retry_state_impl.cc):
// - created only when the route's retry_policy or the request's x-envoy-retry-on asks for
//   retries (RetryStateImpl::create); the x-envoy-retry-on, -retry-grpc-on, -max-retries,
//   -hedge-on-per-try-timeout, -retriable-header-names and -retriable-status-codes headers are
//   removed from what goes upstream either way;
// - x-envoy-retry-on adds to the route's retry_on; x-envoy-max-retries replaces num_retries
//   (only when some retry_on is set); x-envoy-retriable-status-codes and
//   x-envoy-retriable-header-names add to the route's lists;
// - a response is retried on 5xx, gateway-error (502/503/504), retriable-4xx (409),
//   retriable-status-codes, retriable-headers; never when it carries x-envoy-overloaded or
//   x-envoy-ratelimited (wouldRetryFromHeaders);
// - a reset is retried on 5xx, gateway-error or reset; a connect failure on connect-failure
//   too (wouldRetryFromReset); a per-try timeout counts as a reset (router.cc onPerTryTimeout);
// - the back-off is fully jittered exponential: base 25 ms (upstream.base_retry_backoff_ms),
//   max 10 × base, each wait random in [0, min(base × (2^n − 1), max)) (JitteredExponentialBackOffStrategy).

import type { HeaderMatcher, RetryPolicyConfig } from "../envoy/bootstrap-types.ts";
import type { HeaderMap } from "../http/header-map.ts";
import { matchHeader } from "../envoy/routes.ts";

const DEFAULT_BASE_MS = 25;

export type ResetKind = "connect_failure" | "reset" | "per_try_timeout";

export class RetryState {
  private readonly retryOn = new Set<string>();
  private retriesRemaining: number;
  private readonly statusCodes: number[];
  private readonly headers: HeaderMatcher[];
  private readonly baseMs: number;
  private readonly maxMs: number;
  private backoffCount = 0;
  /** "ip:port" of hosts already tried (envoy.retry_host_predicates.previous_hosts). */
  readonly attemptedHosts: string[] = [];

  private constructor(
    readonly policy: RetryPolicyConfig | null,
    request: HeaderMap,
    private readonly random: () => number,
  ) {
    for (const v of policy?.retryOn ?? []) this.retryOn.add(v);
    this.retriesRemaining = policy?.numRetries ?? 1;
    this.statusCodes = [...(policy?.retriableStatusCodes ?? [])];
    this.headers = [...(policy?.retriableHeaders ?? [])];
    this.baseMs = policy?.baseIntervalMs ?? DEFAULT_BASE_MS;
    this.maxMs = policy?.maxIntervalMs ?? this.baseMs * 10;
    const on = request.get("x-envoy-retry-on");
    if (on !== null) for (const v of splitToken(on)) this.retryOn.add(v);
    const max = request.get("x-envoy-max-retries");
    // "The max retries header takes precedence if set" (absl::SimpleAtoi: digits only).
    if (this.retryOn.size > 0 && max !== null && /^\s*\+?\d+\s*$/.test(max)) this.retriesRemaining = Number(max.trim());
    const codes = request.get("x-envoy-retriable-status-codes");
    if (codes !== null) for (const c of splitToken(codes)) if (/^\d+$/.test(c)) this.statusCodes.push(Number(c));
    const names = request.get("x-envoy-retriable-header-names");
    if (names !== null) for (const n of splitToken(names)) this.headers.push({ name: n.toLowerCase(), present: true, invert: false });
  }

  /** RetryStateImpl::create: null when nothing asks for retries. Strips the retry headers. */
  static create(policy: RetryPolicyConfig | null, request: HeaderMap, random: () => number = Math.random): RetryState | null {
    const asked = (policy !== null && policy.retryOn.length > 0) || request.has("x-envoy-retry-on");
    const state = asked ? new RetryState(policy, request, random) : null;
    request.remove("x-envoy-retry-on");
    request.remove("x-envoy-retry-grpc-on");
    request.remove("x-envoy-max-retries");
    request.remove("x-envoy-hedge-on-per-try-timeout");
    request.remove("x-envoy-retriable-header-names");
    request.remove("x-envoy-retriable-status-codes");
    return state;
  }

  wouldRetryFromHeaders(h: HeaderMap): boolean {
    if (h.has("x-envoy-overloaded") || h.has("x-envoy-ratelimited")) return false;
    const code = Number(h.get(":status"));
    const on = this.retryOn;
    if (on.has("5xx") && code >= 500 && code < 600) return true;
    if (on.has("gateway-error") && (code === 502 || code === 503 || code === 504)) return true;
    if (on.has("retriable-4xx") && code === 409) return true;
    if (on.has("retriable-status-codes") && this.statusCodes.includes(code)) return true;
    if (on.has("retriable-headers") && this.headers.some((m) => matchHeader(m, h))) return true;
    return false;
  }

  wouldRetryFromReset(kind: ResetKind): boolean {
    const on = this.retryOn;
    if (on.has("5xx") || on.has("gateway-error") || on.has("reset")) return true;
    return kind === "connect_failure" && on.has("connect-failure");
  }

  /** shouldRetry: consumes a retry when one is wanted and left; returns the back-off in ms, or null. */
  shouldRetry(wouldRetry: boolean): number | null {
    if (!wouldRetry || this.retriesRemaining === 0) return null;
    this.retriesRemaining--;
    return this.nextBackOffMs();
  }

  /** Whether a host passes the retry host predicates for the next try. */
  hostAllowed(host: string | null): boolean {
    return !(this.policy?.previousHostsPredicate && host !== null && this.attemptedHosts.includes(host));
  }

  get hostSelectionMaxAttempts(): number {
    return this.policy?.hostSelectionRetryMaxAttempts ?? 1;
  }

  private nextBackOffMs(): number {
    this.backoffCount++;
    const multiplier = 2 ** this.backoffCount - 1;
    const ceiling = Math.min(this.baseMs * multiplier, this.maxMs);
    return Math.floor(this.random() * ceiling);
  }
}

function splitToken(s: string): string[] {
  return s
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
}
