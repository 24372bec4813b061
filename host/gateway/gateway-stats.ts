// A few of Envoy's own stats, so /stats/prometheus looks like Envoy's: downstream requests per
// HTTP connection manager, upstream requests and failures per cluster.
//
// Like Envoy's per-cluster stats structs, each scope keeps the counters it has used, so a
// request increments them without building and hashing full stat names.

import type { Counter, StatsStore } from "../stats/store.ts";

/** The counters under one prefix (`http.<stat_prefix>.`, `cluster.<name>.`). */
class Scope {
  private readonly byName = new Map<string, Counter>();
  private readonly byCode = new Map<number, Counter>();
  constructor(
    private readonly store: StatsStore,
    private readonly prefix: string,
  ) {}

  inc(name: string): void {
    let c = this.byName.get(name);
    if (c === undefined) {
      c = this.store.counter(this.prefix + name);
      this.byName.set(name, c);
    }
    c.add(1);
  }

  /** `<prefix>upstream_rq_<code>`, the one per-status counter (a cluster's). */
  incUpstreamCode(code: number): void {
    let c = this.byCode.get(code);
    if (c === undefined) {
      c = this.store.counter(`${this.prefix}upstream_rq_${code}`);
      this.byCode.set(code, c);
    }
    c.add(1);
  }
}

// Names per status class, built once: a name made per request is a new string to hash.
const classNames = (stem: string): string[] => ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"].map((c) => stem + c);
const DOWNSTREAM_CLASS = classNames("downstream_rq_");
const UPSTREAM_CLASS = classNames("upstream_rq_");
const byClass = (names: string[], code: number): string => names[Math.floor(code / 100)] ?? `${names[0]!.slice(0, -3)}${Math.floor(code / 100)}xx`;

export class GatewayStats {
  private readonly httpScopes = new Map<string, Scope>();
  private readonly clusterScopes = new Map<string, Scope>();
  constructor(private readonly store: StatsStore) {}

  private scope(scopes: Map<string, Scope>, key: string, prefix: string): Scope {
    let s = scopes.get(key);
    if (s === undefined) {
      s = new Scope(this.store, prefix);
      scopes.set(key, s);
    }
    return s;
  }
  private http(statPrefix: string): Scope {
    return this.scope(this.httpScopes, statPrefix, `http.${statPrefix}.`);
  }
  private cluster(name: string): Scope {
    return this.scope(this.clusterScopes, name, `cluster.${name}.`);
  }

  downstreamRequest(statPrefix: string): void {
    this.http(statPrefix).inc("downstream_rq_total");
  }
  downstreamResponse(statPrefix: string, code: number): void {
    this.http(statPrefix).inc(byClass(DOWNSTREAM_CLASS, code));
  }
  upstreamRequest(cluster: string): void {
    this.cluster(cluster).inc("upstream_rq_total");
  }
  upstreamResponse(cluster: string, code: number): void {
    const s = this.cluster(cluster);
    s.incUpstreamCode(code);
    s.inc(byClass(UPSTREAM_CLASS, code));
    s.inc("upstream_rq_completed");
  }
  /** cluster.<name>.upstream_rq_retry (RetryStateImpl::shouldRetry). */
  upstreamRetry(cluster: string): void {
    this.cluster(cluster).inc("upstream_rq_retry");
  }
  upstreamFailure(cluster: string, kind: "connect_failure" | "reset" | "timeout"): void {
    const name = kind === "connect_failure" ? "upstream_cx_connect_fail" : kind === "timeout" ? "upstream_rq_timeout" : "upstream_rq_rx_reset";
    this.cluster(cluster).inc(name);
  }
}
