// A few of Envoy's own stats, so /stats/prometheus looks like Envoy's: downstream requests per
// HTTP connection manager, upstream requests and failures per cluster.

import type { StatsStore } from "../stats/store.ts";

export class GatewayStats {
  constructor(private readonly store: StatsStore) {}

  downstreamRequest(statPrefix: string): void {
    this.store.counter(`http.${statPrefix}.downstream_rq_total`).add(1);
  }
  downstreamResponse(statPrefix: string, code: number): void {
    this.store.counter(`http.${statPrefix}.downstream_rq_${Math.floor(code / 100)}xx`).add(1);
  }
  upstreamRequest(cluster: string): void {
    this.store.counter(`cluster.${cluster}.upstream_rq_total`).add(1);
  }
  upstreamResponse(cluster: string, code: number): void {
    this.store.counter(`cluster.${cluster}.upstream_rq_${code}`).add(1);
    this.store.counter(`cluster.${cluster}.upstream_rq_${Math.floor(code / 100)}xx`).add(1);
    this.store.counter(`cluster.${cluster}.upstream_rq_completed`).add(1);
  }
  upstreamFailure(cluster: string, kind: "connect_failure" | "reset" | "timeout"): void {
    const name = kind === "connect_failure" ? "upstream_cx_connect_fail" : kind === "timeout" ? "upstream_rq_timeout" : "upstream_rq_rx_reset";
    this.store.counter(`cluster.${cluster}.${name}`).add(1);
  }
}
