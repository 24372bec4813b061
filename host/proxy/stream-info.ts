// Envoy's StreamInfo for one HTTP stream: what properties, access logs and filters read.

import type { HeaderMap } from "../http/header-map.ts";
import { FilterState } from "./filter-state.ts";

export class StreamInfo {
  // The start as epoch ms; its Date is made only when something reads startTime (the access
  // log, request.time), not for every stream.
  private readonly startMs = Date.now();
  private startDate: Date | null = null;
  readonly startNs = process.hrtime.bigint();
  /** Filter state. Wasm `set_property(path)` writes key `wasm.<path>`. */
  readonly filterState = new FilterState();
  responseCode: number | null = null;
  responseCodeDetails: string | null = null;
  readonly responseFlags = new Set<string>();
  routeName: string | null = null;
  clusterName: string | null = null;
  upstreamHost: string | null = null;
  /** The router's try count (StreamInfo::attemptCount), set as each try starts; null before any. */
  attemptCount: number | null = null;
  bytesReceived = 0;
  bytesSent = 0;
  requestCompleteNs: bigint | null = null;
  /** Access-log copies, kept for on_log (Envoy's access_log_*_headers_). */
  requestHeaders: HeaderMap | null = null;
  responseHeaders: HeaderMap | null = null;
  responseTrailers: HeaderMap | null = null;

  constructor(
    readonly connectionId: number,
    readonly downstreamRemote: { address: string; port: number },
    readonly downstreamLocal: { address: string; port: number },
    readonly protocol = "HTTP/1.1",
  ) {}

  get startTime(): Date {
    return (this.startDate ??= new Date(this.startMs));
  }

  setResponseCodeDetails(details: string): void {
    this.responseCodeDetails = details;
  }

  durationMs(): number {
    const end = this.requestCompleteNs ?? process.hrtime.bigint();
    return Number((end - this.startNs) / 1_000_000n);
  }
}
