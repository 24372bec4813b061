// The proxy_http_call client: buffered responses, and Envoy's async-client outcomes — router
// local replies (503/504) as successful responses, resets after the response started and over
// the response buffer limit as failures.

import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import net from "node:net";
import { once } from "node:events";
import type { Cluster } from "../host/envoy/bootstrap-types.ts";
import { HeaderMap } from "../host/http/header-map.ts";
import { ASYNC_RESPONSE_BUFFER_LIMIT, httpCallout } from "../host/gateway/callout.ts";
import { closeAllUpstreamPools } from "../host/gateway/upstream.ts";

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  await closeAllUpstreamPools();
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

async function serve(handler: http.RequestListener): Promise<number> {
  const s = http.createServer(handler);
  servers.push(s);
  s.on("connection", (sock: net.Socket) => sockets.push(sock));
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  return (s.address() as net.AddressInfo).port;
}

function cluster(port: number): Cluster {
  return { name: "svc", connectTimeoutMs: 5000, endpoints: [{ address: "127.0.0.1", port }], tls: null, http2: false };
}

function callHeaders(method = "POST"): HeaderMap {
  return new HeaderMap([[":method", method], [":path", "/check"], [":authority", "svc.local"]]);
}

describe("httpCallout", () => {
  it("sends the body with content-length and returns the buffered response", async () => {
    let seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string } = { headers: {}, body: "" };
    const port = await serve((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body };
        res.writeHead(201, { "content-type": "application/json", "x-answer": "42" });
        res.write('{"ok":');
        setImmediate(() => res.end("true}"));
      });
    });
    const r = await httpCallout(cluster(port), callHeaders(), Buffer.from('{"q":1}'), 1000);
    expect(seen.method).toBe("POST");
    expect(seen.url).toBe("/check");
    expect(seen.headers.host).toBe("svc.local");
    expect(seen.headers["content-length"]).toBe("7");
    expect(seen.headers["transfer-encoding"]).toBeUndefined();
    expect(seen.headers["x-envoy-internal"]).toBe("true");
    expect(seen.headers["x-envoy-expected-rq-timeout-ms"]).toBe("1000");
    expect(seen.body).toBe('{"q":1}');
    if (r.kind !== "response") throw new Error("expected a response");
    expect(r.headers.entries()[0]).toEqual([":status", "201"]);
    expect(r.headers.get("x-answer")).toBe("42");
    expect(r.headers.get("x-envoy-upstream-service-time")).toMatch(/^\d+$/);
    expect(r.body.toString()).toBe('{"ok":true}');
    expect(r.trailers.count).toBe(0);
  });

  it("a connect failure arrives as a successful 503 response with Envoy's body", async () => {
    const port = await serve(() => {});
    await new Promise<void>((r) => servers.pop()!.close(() => r())); // nothing listens there now
    const r = await httpCallout(cluster(port), callHeaders("GET"), Buffer.alloc(0), 1000);
    if (r.kind !== "response") throw new Error("expected a response");
    const body = "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused";
    expect(r.headers.entries()).toEqual([
      [":status", "503"],
      ["content-length", String(body.length)],
      ["content-type", "text/plain"],
    ]);
    expect(r.body.toString()).toBe(body);
  });

  it("a timeout arrives as a successful 504 upstream request timeout", async () => {
    const port = await serve(() => {}); // never answers
    const r = await httpCallout(cluster(port), callHeaders(), Buffer.from("x"), 150);
    if (r.kind !== "response") throw new Error("expected a response");
    expect(r.headers.get(":status")).toBe("504");
    expect(r.body.toString()).toBe("upstream request timeout");
  });

  it("timeout 0 means no timeout", async () => {
    let expected: string | string[] | undefined = "unset";
    const port = await serve((req, res) => {
      expected = req.headers["x-envoy-expected-rq-timeout-ms"];
      setTimeout(() => res.end("late"), 300);
    });
    const r = await httpCallout(cluster(port), callHeaders("GET"), Buffer.alloc(0), 0);
    if (r.kind !== "response") throw new Error("expected a response");
    expect(r.headers.get(":status")).toBe("200");
    expect(r.body.toString()).toBe("late");
    expect(expected).toBeUndefined();
  });

  it("a reset before headers is a 503 response; a reset after headers is a failure", async () => {
    const before = await serve((req) => req.socket.destroy());
    const r1 = await httpCallout(cluster(before), callHeaders("GET"), Buffer.alloc(0), 1000);
    if (r1.kind !== "response") throw new Error("expected a response");
    expect(r1.headers.get(":status")).toBe("503");
    expect(r1.body.toString()).toBe("upstream connect error or disconnect/reset before headers. reset reason: connection termination");

    const after = await serve((req, res) => {
      res.writeHead(200, { "content-length": "50" });
      res.write("partial", () => setImmediate(() => req.socket.destroy()));
    });
    expect(await httpCallout(cluster(after), callHeaders("GET"), Buffer.alloc(0), 1000)).toEqual({ kind: "reset" });
  });

  it("a response body over the async client's 32 MiB buffer limit is a failure", async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(ASYNC_RESPONSE_BUFFER_LIMIT + 1) });
      res.end(Buffer.alloc(ASYNC_RESPONSE_BUFFER_LIMIT + 1));
    });
    expect(await httpCallout(cluster(port), callHeaders("GET"), Buffer.alloc(0), 0)).toEqual({ kind: "reset" });
  });

  it("a body of exactly the limit is delivered", async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { "content-length": String(ASYNC_RESPONSE_BUFFER_LIMIT) });
      res.end(Buffer.alloc(ASYNC_RESPONSE_BUFFER_LIMIT, 1));
    });
    const r = await httpCallout(cluster(port), callHeaders("GET"), Buffer.alloc(0), 0);
    if (r.kind !== "response") throw new Error("expected a response");
    expect(r.body.length).toBe(ASYNC_RESPONSE_BUFFER_LIMIT);
  });

  it("an unknown cluster gets the router's 503 with no body", async () => {
    const r = await httpCallout(undefined, callHeaders(), Buffer.from("x"), 1000);
    if (r.kind !== "response") throw new Error("expected a response");
    expect(r.headers.entries()).toEqual([[":status", "503"]]);
    expect(r.body.length).toBe(0);
  });

  it("cancelling through the signal resets the call", async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((r) => (closed = r));
    const port = await serve((req) => req.socket.on("close", () => closed()));
    const ac = new AbortController();
    const p = httpCallout(cluster(port), callHeaders("GET"), Buffer.alloc(0), 0, ac.signal);
    setTimeout(() => ac.abort(), 50);
    expect(await p).toEqual({ kind: "reset" });
    await serverSawClose;
  });
});
