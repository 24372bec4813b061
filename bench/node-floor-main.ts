// The smallest Node reverse proxy that does the gateway's transport work: node:http in front,
// an undici Pool behind (the gateway's own two choices, host/gateway/upstream.ts), the request
// read whole, the answer relayed whole. No routing, no filters, no stats, no logs. The bench
// runs it beside the gateway as the floor a Node host can reach on this machine: what separates
// the gateway from Portkey beyond it is the HTTP stack's own cost, not the gateway's.
//
//   node --import tsx bench/node-floor-main.ts UPSTREAM_PORT
import http from "node:http";
import { Pool } from "undici";

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "host", "content-length"]);

const upstreamPort = Number(process.argv[2]);
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0) throw new Error("usage: node-floor-main.ts UPSTREAM_PORT");
const pool = new Pool(`http://127.0.0.1:${upstreamPort}`, { connections: null, pipelining: 1 });

function forwardable(headers: http.IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

const server = http.createServer({ keepAlive: true, requestTimeout: 0 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    pool
      .request({ path: req.url ?? "/", method: (req.method ?? "GET") as "POST", headers: forwardable(req.headers), body: chunks.length === 0 ? null : Buffer.concat(chunks) })
      .then(async (up) => {
        const body = Buffer.from(await up.body.arrayBuffer());
        res.writeHead(up.statusCode, { ...forwardable(up.headers), "content-length": body.length });
        res.end(body);
      })
      .catch((e: Error) => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(e.message);
      });
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening on ${(server.address() as { port: number }).port}\n`));
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => void pool.close().then(() => process.exit(0)));
});
