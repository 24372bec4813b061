// The router's tries for one request when a retry policy or an upstream filter chain is in play
// (source/common/router/router.cc, upstream_request.cc):
// - the global timeout (route timeout, or x-envoy-upstream-rq-timeout-ms) starts when the
//   downstream request is complete and spans every try (Filter::onRequestComplete);
// - the per-try timeout (per_try_timeout, or x-envoy-upstream-rq-per-try-timeout-ms) starts when
//   a try's request is complete; it is ignored once the response has started downstream
//   (UpstreamRequest::onPerTryTimeout), and a per-try timeout with no retry left answers 504
//   "upstream request timeout" like the global one; a per-try timeout not below the global one
//   is not armed (FilterUtility::finalTimeout);
// - while retries are possible the request body is also kept (Filter::decodeData buffers it for
//   retries); over the buffer limit retries stop (retry_or_shadow_buffer_limit);
// - a retry re-sends the same headers and a copy of the buffered body to a newly chosen host,
//   after the back-off (Filter::doRetry), with previous_hosts honoured in host selection;
// - once response headers have gone downstream, nothing is retried.

import type { Cluster } from "../envoy/bootstrap-types.ts";
import type { HeaderMap } from "../http/header-map.ts";
import type { StreamInfo } from "../proxy/stream-info.ts";
import type { RetryState } from "./retry-policy.ts";
import { startUpstreamTry, type UpstreamChainContext } from "./upstream-filters.ts";
import { selectHost, type UpstreamFailure, type UpstreamHandler, type UpstreamRequest } from "./upstream.ts";

export interface TriesOptions {
  timeoutMs: number; // global, 0 = none
  perTryTimeoutMs: number; // 0 = none
  bufferLimit: number; // retry buffer limit (the connection's buffer limit)
  chain: UpstreamChainContext | null;
  info: StreamInfo;
  onRetry?: () => void;
}

export class UpstreamTries implements UpstreamRequest {
  private current: UpstreamRequest | null = null;
  private readonly body: Buffer[] = [];
  private bodyBytes = 0;
  private downstreamEnded = false;
  private responseStarted = false;
  private finished = false;
  private attempt = 0;
  private gen = 0;
  private tryEnded = false;
  private globalTimer: NodeJS.Timeout | null = null;
  private perTryTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  upstreamHost: string | null = null;

  constructor(
    private readonly cluster: Cluster,
    private readonly headers: HeaderMap,
    private retry: RetryState | null,
    private readonly opts: TriesOptions,
    private readonly handler: UpstreamHandler,
  ) {
    this.startTry();
  }

  write(chunk: Buffer): void {
    if (this.finished || chunk.length === 0) return;
    if (this.retry !== null) {
      this.body.push(chunk);
      this.bodyBytes += chunk.length;
      if (this.bodyBytes > this.opts.bufferLimit) this.retry = null; // retry buffer overflow: no more retries
    }
    this.current?.write(chunk);
  }

  end(): void {
    if (this.downstreamEnded) return;
    this.downstreamEnded = true;
    if (this.finished) return;
    this.endTry();
    if (this.opts.timeoutMs > 0) this.globalTimer = setTimeout(() => this.onGlobalTimeout(), this.opts.timeoutMs);
  }

  abort(): void {
    if (this.finished) return;
    this.finish();
    this.current?.abort();
  }

  pause(): void {
    this.current?.pause();
  }

  resume(): void {
    this.current?.resume();
  }

  private startTry(): void {
    this.attempt++;
    this.opts.info.attemptCount = this.attempt;
    const r = this.retry;
    const host = r ? selectHost(this.cluster, (h) => r.hostAllowed(h), r.hostSelectionMaxAttempts) : selectHost(this.cluster, () => true, 0);
    if (host) r?.attemptedHosts.push(host.hostPort);
    this.upstreamHost = host?.hostPort ?? null;
    this.opts.info.upstreamHost = this.upstreamHost;
    this.tryEnded = false;
    const gen = ++this.gen;
    const live = () => !this.finished && gen === this.gen;
    const tryHandler: UpstreamHandler = {
      onHeaders: (h, eos) => {
        if (!live()) return;
        if (!this.responseStarted && this.retry !== null && this.maybeRetry(this.retry.wouldRetryFromHeaders(h))) return;
        this.responseStarted = true;
        this.clearPerTry();
        if (eos) this.finish();
        this.handler.onHeaders(h, eos);
      },
      onData: (chunk, eos) => {
        if (!live()) return;
        if (eos) this.finish();
        this.handler.onData(chunk, eos);
      },
      onTrailers: (t) => {
        if (!live()) return;
        this.finish();
        this.handler.onTrailers(t);
      },
      onError: (f) => {
        if (!live()) return;
        if (!f.responseStarted && f.kind !== "timeout" && this.retry !== null) {
          const kind = f.kind === "connect_failure" ? "connect_failure" : "reset";
          // "no healthy upstream" is not a reset: the router answers 503 without retrying.
          const noHost = f.kind === "connect_failure" && f.reason === "no healthy upstream";
          if (!noHost && this.maybeRetry(this.retry.wouldRetryFromReset(kind))) return;
        }
        this.fail(f);
      },
    };
    const opts = host ? { timeoutMs: 0, host } : { timeoutMs: 0 };
    this.current = startUpstreamTry(this.cluster, this.headers, opts, tryHandler, this.opts.chain, this.opts.bufferLimit);
    for (const c of this.body) this.current.write(c);
    if (this.downstreamEnded) this.endTry();
  }

  private endTry(): void {
    if (this.tryEnded || !this.current) return;
    this.tryEnded = true;
    this.current.end();
    if (this.opts.perTryTimeoutMs > 0 && (this.opts.timeoutMs === 0 || this.opts.perTryTimeoutMs < this.opts.timeoutMs) && !this.responseStarted) {
      const gen = this.gen;
      this.perTryTimer = setTimeout(() => this.onPerTryTimeout(gen), this.opts.perTryTimeoutMs);
    }
  }

  /** Starts the back-off towards the next try when a retry is wanted and left. */
  private maybeRetry(would: boolean): boolean {
    const backoff = this.retry!.shouldRetry(would);
    if (backoff === null) return false;
    this.clearPerTry();
    const old = this.current;
    this.current = null;
    this.gen++; // the old try's late callbacks are dropped
    old?.abort();
    this.opts.onRetry?.();
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = null;
      if (!this.finished) this.startTry();
    }, backoff);
    return true;
  }


  private onPerTryTimeout(gen: number): void {
    this.perTryTimer = null;
    if (this.finished || gen !== this.gen || this.responseStarted) return;
    if (this.retry !== null && this.maybeRetry(this.retry.wouldRetryFromReset("per_try_timeout"))) return;
    this.current?.abort();
    this.fail({ kind: "timeout", responseStarted: false, perTry: true });
  }

  private onGlobalTimeout(): void {
    this.globalTimer = null;
    if (this.finished) return;
    const started = this.responseStarted;
    this.current?.abort();
    this.fail({ kind: "timeout", responseStarted: started });
  }

  private fail(f: UpstreamFailure): void {
    this.finish();
    this.handler.onError(f);
  }

  private clearPerTry(): void {
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.perTryTimer = null;
  }

  private finish(): void {
    this.finished = true;
    this.clearPerTry();
    if (this.globalTimer) clearTimeout(this.globalTimer);
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.globalTimer = this.backoffTimer = null;
  }
}
