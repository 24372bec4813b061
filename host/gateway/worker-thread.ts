// One gateway worker thread: its own VMs (every plugin, once), its own connection managers on
// the listener sockets, its own upstream pools, as an Envoy worker (source/server/worker_impl.cc).
// Shared data, queues and counters/gauges are the process's (shared-data-memory.ts,
// worker-shared.ts, StatCells); log lines and
// everything else the main thread prints go to it as messages (workers.ts).

import { isMainThread, parentPort, workerData, type MessagePort } from "node:worker_threads";
import type { Bootstrap } from "../envoy/bootstrap-types.ts";
import type { LogLine } from "../proxy/runtime.ts";
import { StatsStore } from "../stats/store.ts";
import { Gateway } from "./gateway.ts";
import { RpcClient } from "./worker-rpc.ts";
import { RemoteQueues, RemoteStatCells, type StatCellBuffers } from "./worker-services.ts";
import { SharedMemoryData } from "../proxy/shared-data-memory.ts";

export const WORKER_THREAD_URL = import.meta.url;

export interface WorkerThreadData {
  aigw: "gateway";
  index: number;
  bootstrap: Bootstrap;
  /** Remote code the main thread fetched, by sha256. */
  remoteCode: Map<string, Uint8Array | null>;
  logLevel: number;
  ctl: Int32Array;
  slot: number;
  rpc: MessagePort;
  events: MessagePort;
  cells: StatCellBuffers;
  /** The process's shared data (sharedDataBuffer). */
  sharedData: SharedArrayBuffer;
}

/** main → worker: requests, each answered by a reply with the same id. */
export type ToWorker = { id: number } & ({ type: "listen"; ephemeralPorts: boolean } | { type: "adopt"; fds: [string, number][]; ports: [string, number][] } | { type: "histograms" } | { type: "close" });

/** The answer to a request: its result, or why it failed. */
export type WorkerReply = { type: "reply"; id: number; ok: unknown } | { type: "reply"; id: number; error: string };

/** worker → main. */
export type FromWorker = { type: "log"; line: LogLine } | { type: "loaded"; pluginCount: number } | { type: "load-error"; message: string } | WorkerReply;

export type Listening = { fds: [string, number][]; ports: [string, number][] };

async function run(d: WorkerThreadData, port: MessagePort): Promise<void> {
  const post = (m: FromWorker) => port.postMessage(m);
  const rpc = new RpcClient(d.rpc, d.ctl, d.slot);
  const stats = StatsStore.fromConfig(d.bootstrap.stats, new RemoteStatCells(d.cells, rpc));
  let queues: RemoteQueues | null = null;
  d.events.on("message", (m: { type: string; token: number }) => queues?.ready(m.token));
  let gw: Gateway;
  try {
    gw = await Gateway.load(d.bootstrap, {
      firstWorker: d.index,
      stats,
      logLevel: d.logLevel,
      onLog: (line) => post({ type: "log", line }),
      quietWarnings: true,
      remoteCode: d.remoteCode,
      shared: { data: new SharedMemoryData(d.sharedData), queues: (onReady) => (queues = new RemoteQueues(rpc, onReady)) },
    });
  } catch (e) {
    post({ type: "load-error", message: (e as Error).message });
    return;
  }
  post({ type: "loaded", pluginCount: gw.pluginCount });
  const answer = async (m: ToWorker): Promise<unknown> => {
    switch (m.type) {
      case "listen":
        await gw.listen({ ephemeralPorts: m.ephemeralPorts });
        return { fds: [...gw.listenerFds()], ports: [...gw.ports] } satisfies Listening;
      case "adopt":
        await gw.listen({ adopt: { fds: new Map(m.fds), ports: new Map(m.ports) } });
        return null;
      case "histograms":
        return stats.histogramSnapshots();
      case "close":
        await gw.close();
        d.events.close();
        return null;
    }
  };
  port.on("message", (m: ToWorker) => {
    answer(m).then(
      (ok) => post({ type: "reply", id: m.id, ok }),
      (e: unknown) => post({ type: "reply", id: m.id, error: (e as Error).message }),
    );
  });
}

if (!isMainThread && (workerData as { aigw?: string } | null)?.aigw === "gateway") void run(workerData as WorkerThreadData, parentPort!);
