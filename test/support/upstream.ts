// A real HTTP upstream on loopback that records what it receives and answers as told.
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { existsSync, readFileSync } from "node:fs";

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
/**
 * A loopback port nothing listens on, so a connect is refused. Drawn below the kernel's
 * ephemeral range: listen(0), which every other server in the tests uses, takes ports from that
 * range, so none of them can bind this port meanwhile (a port freed by closing a listen(0) server
 * could be handed to the next test's server, and the "dead" upstream then answered).
 */
export async function closedPort(): Promise<number> {
  const range = existsSync(EPHEMERAL) ? readFileSync(EPHEMERAL, "utf8").trim().split(/\s+/).map(Number) : [32768];
  const low = range[0]! > 2048 ? range[0]! : 32768;
  for (let i = 0; i < 100; i++) {
    const port = 1024 + Math.floor(Math.random() * (low - 1024));
    if (await refused(port)) return port;
  }
  throw new Error("no closed port found below the ephemeral range");
}

const EPHEMERAL = "/proc/sys/net/ipv4/ip_local_port_range";

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.once("connect", () => (sock.destroy(), resolve(false)));
    sock.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}
