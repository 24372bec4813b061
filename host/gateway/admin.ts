// The admin listener: the read-only part of Envoy's admin API that the local gateway serves.
//   GET /ready             200 "LIVE\n", or 503 with the server state (Envoy's handlerReady)
//   GET /stats             `name: value` text; ?format=json, ?format=prometheus, ?usedonly, ?filter=
//   GET /stats/prometheus  Prometheus text, ?usedonly, ?filter=
// Headers as Envoy's admin sets them: content-type text/plain; charset=UTF-8 (JSON:
// application/json), cache-control: no-cache, max-age=0, x-content-type-options: nosniff.
// Envoy serves /stats/prometheus as plain text/plain; charset=UTF-8 too.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SocketAddress } from "../envoy/bootstrap-types.ts";
import type { StatsStore } from "../stats/store.ts";
import type { RenderOptions } from "../stats/render-options.ts";

/** envoy.admin.v3.ServerInfo.State. */
export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

export interface AdminDeps {
  stats: StatsStore;
  isReady: () => boolean;
  /** The state /ready reports when not ready (default INITIALIZING: listeners or VMs still starting). */
  state?: () => ServerState;
  /** Brings `stats` up to date before a stats page (worker threads: their histograms merged). */
  refresh?: () => Promise<void>;
}

export interface AdminServer {
  port: number;
  close(): Promise<void>;
}

const TEXT = "text/plain; charset=UTF-8";
const JSON_TYPE = "application/json";

const COMMANDS: [string, string][] = [
  ["/ready", "print server state, return 200 if LIVE, otherwise return 503"],
  ["/stats", "print server stats"],
  ["/stats/prometheus", "print server stats in prometheus format"],
];

function send(res: ServerResponse, status: number, body: string, type = TEXT): void {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-cache, max-age=0",
    "x-content-type-options": "nosniff",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Query parameters shared by the stats handlers; null (after replying 400) when invalid. */
function renderOptions(params: URLSearchParams, res: ServerResponse): RenderOptions | null {
  const opts: RenderOptions = { usedOnly: params.has("usedonly") };
  const filter = params.get("filter");
  if (filter) {
    try {
      opts.filter = new RegExp(filter);
    } catch {
      send(res, 400, "Invalid re2 regex");
      return null;
    }
  }
  return opts;
}

function handle(req: IncomingMessage, res: ServerResponse, deps: AdminDeps): void {
  const url = new URL(req.url ?? "/", "http://admin");
  const params = url.searchParams;
  switch (url.pathname) {
    case "/ready": {
      const ready = deps.isReady();
      const state: ServerState = ready ? "LIVE" : (deps.state?.() ?? "INITIALIZING");
      send(res, state === "LIVE" ? 200 : 503, `${state}\n`);
      return;
    }
    case "/stats": {
      const format = params.get("format");
      const opts = renderOptions(params, res);
      if (!opts) return;
      if (format === null) send(res, 200, deps.stats.renderText(opts));
      else if (format === "json") send(res, 200, deps.stats.renderJson(opts), JSON_TYPE);
      else if (format === "prometheus") send(res, 200, deps.stats.renderPrometheus(opts));
      else send(res, 400, "usage: /stats?format=json  or /stats?format=prometheus \n\n");
      return;
    }
    case "/stats/prometheus": {
      const opts = renderOptions(params, res);
      if (opts) send(res, 200, deps.stats.renderPrometheus(opts));
      return;
    }
    default:
      send(res, 404, `invalid path. admin commands are:\n${COMMANDS.map(([p, h]) => `  ${p}: ${h}\n`).join("")}`);
  }
}

/** Starts the admin listener; port 0 picks a free port, reported in the result. */
export function startAdmin(address: SocketAddress, deps: AdminDeps): Promise<AdminServer> {
  const server = createServer((req, res) => {
    const fail = (e: unknown) => send(res, 500, `${(e as Error).message}\n`);
    const serve = () => {
      try {
        handle(req, res, deps);
      } catch (e) {
        fail(e);
      }
    };
    if (deps.refresh && req.url?.startsWith("/stats")) deps.refresh().then(serve, fail);
    else serve();
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.address, () => {
      server.off("error", reject);
      const port = (server.address() as AddressInfo).port;
      resolve({
        port,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}
