// A real HTTP upstream on loopback that records what it receives and answers as told.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  trailers: NodeJS.Dict<string>;
}

export type Handler = (req: Received, res: http.ServerResponse) => void | Promise<void>;

export interface TestUpstream {
  port: number;
  received: Received[];
  /** Requests whose headers arrived, complete or not (a reset one never reaches `received`). */
  started(): number;
  setHandler(h: Handler): void;
  close(): Promise<void>;
}

export async function startUpstream(handler?: Handler): Promise<TestUpstream> {
  const received: Received[] = [];
  let h: Handler =
    handler ??
    ((r, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ echo: r.body, path: r.path }));
    });
  let started = 0;
  const server = http.createServer((req, res) => {
    started++;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString(), trailers: req.trailers };
      received.push(r);
      void h(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    started: () => started,
    setHandler: (nh) => void (h = nh),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
