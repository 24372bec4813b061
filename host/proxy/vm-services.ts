// What a VM needs from the process around it: logs, stats, clocks, shared state, clusters.
// One instance is shared by every VM of a gateway (Envoy's process-wide singletons).

import type { HeaderMap } from "../http/header-map.ts";
import type { WasmResult } from "../abi/enums.ts";
import type { ContextBase, RootContext } from "./context.ts";
import type { SharedDataApi } from "./shared-data.ts";
import type { SharedQueueApi } from "./shared-queue.ts";
import type { WasmVm } from "./wasm-vm.ts";

/** What the gRPC transport reports for one call or stream (host/gateway/grpc-client.ts). */
export interface GrpcCallHandlers {
  onInitialMetadata(pairs: [string, string][]): void;
  onMessage(message: Uint8Array): void;
  onTrailingMetadata(pairs: [string, string][]): void;
  onClose(status: number, message: string): void;
}

export interface GrpcStreamHandle {
  send(message: Uint8Array, endStream: boolean): void;
  close(): void;
  cancel(): void;
}

export interface PluginLog {
  /** Envoy's current log level (proxy_get_log_level). */
  readonly level: number;
  /** A module's proxy_log / fd_write line. */
  plugin(vm: WasmVm, level: number, message: string): void;
  /** A host-side error about a VM (load failures, traps). */
  error(message: string): void;
  /** A host-side warning (config Envoy accepts with a warning). */
  warn(message: string): void;
}

export type CounterHandle = { add(n: bigint): void; readonly bigValue: bigint };
export type GaugeHandle = { add(n: bigint): void; sub(n: bigint): void; set(n: bigint): void; readonly bigValue: bigint };
export type HistogramHandle = { record(v: bigint): void };
export type MetricHandle = CounterHandle | GaugeHandle | HistogramHandle;

/**
 * Stats are uint64 in Envoy: values cross as bigint so nothing above 2^53 is rounded. A
 * handle stays valid for the store's life: a VM keeps the one it got when the metric was
 * defined (as Envoy's Context keeps its Stats::Counter&).
 */
export interface MetricsStore {
  counter(name: string): CounterHandle;
  gauge(name: string): GaugeHandle;
  histogram(name: string): HistogramHandle;
}

export interface Clock {
  realtimeNs(): bigint;
  monotonicNs(): bigint;
}

export type CalloutResult = { kind: "response"; headers: HeaderMap; body: Uint8Array; trailers: HeaderMap } | { kind: "reset" };

export interface VmServices {
  readonly log: PluginLog;
  readonly stats: MetricsStore;
  readonly clock: Clock;
  readonly sharedData: SharedDataApi;
  readonly queues: SharedQueueApi;
  hasCluster(name: string): boolean;
  /** The async client behind proxy_http_call; Envoy's router semantics (503/504 as responses). */
  callout(cluster: string, headers: HeaderMap, body: Uint8Array, timeoutMs: number): { promise: Promise<CalloutResult>; cancel(): void };
  /** The gRPC async client behind proxy_grpc_call/proxy_grpc_stream on a cluster (null: not HTTP/2-capable here). */
  grpc(cluster: string, service: string, method: string, metadata: [string, string][], timeoutMs: number, handlers: GrpcCallHandlers, unaryMessage: Uint8Array | null): GrpcStreamHandle;
  setTickPeriod(root: RootContext, periodMs: number): void;
  done(ctx: ContextBase): WasmResult;
}

export const systemClock: Clock = {
  realtimeNs: () => BigInt(Date.now()) * 1_000_000n,
  monotonicNs: () => process.hrtime.bigint(),
};
