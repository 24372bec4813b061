// The local gateway's HTTP/1.1 codec on malformed requests and on informational upstream
// responses, as Envoy's: source/common/http/http1/codec_impl.cc answers a request it cannot parse
// with a local reply (ServerConnectionImpl::sendProtocolError → sendLocalReply(error_code_,
// CodeUtility::toString(error_code_))): 400 Bad Request, or 431 Request Header Fields Too Large
// when the headers exceed max_request_headers_kb (default 60 KiB, HttpConnectionManager proto)
// or max_headers_count (default 100), then closes the connection. An upstream 100 Continue is
// swallowed and the final response forwarded (ClientConnectionImpl::onHeadersComplete:
// decode100ContinueHeaders, ignore_message_complete_for_1xx_; the router does not proxy it with
// proxy_100_continue false).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import net from "node:net";
import http from "node:http";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Sends raw bytes on a fresh connection and reads until the gateway closes it. */
function raw(url: string, bytes: string | Buffer): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect(Number(port), "127.0.0.1");
    const parts: Buffer[] = [];
    const done = () => resolve(Buffer.concat(parts).toString("latin1"));
    s.on("data", (d: Buffer) => parts.push(d));
    s.on("end", done);
    s.on("error", done);
    s.on("close", done);
    s.write(bytes);
  });
}

const statusOf = (reply: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);

describe("malformed requests get Envoy's 400 or 431, not a silent close", () => {
  let gw: RunningGateway;
  let up: TestUpstream;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({ filters: [], clusters: { upstream: { port: up.port } } });
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  const head = "POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\n";
  it.each([
    ["an obs-fold header", "GET / HTTP/1.1\r\nhost: gw\r\nx-a: one\r\n two\r\n\r\n"],
    ["a bare CR in a header", "GET / HTTP/1.1\r\nhost: gw\r\nx-a: a\rb\r\n\r\n"],
    ["a bare LF inside a header value", "GET / HTTP/1.1\r\nhost: gw\r\nx-a: a\nb: c\r\n\r\n"],
    ["a NUL in a header", "GET / HTTP/1.1\r\nhost: gw\r\nx-a: a\0b\r\n\r\n"],
    ["Content-Length with Transfer-Encoding", `${head}content-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`],
    ["two different Content-Lengths", `${head}content-length: 5\r\ncontent-length: 6\r\n\r\nhello!`],
    ["a bad chunk size", `${head}transfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`],
    ["a request line that is not HTTP", "HELLO\r\n\r\n"],
  ])("%s: 400 Bad Request, connection: close", async (_name, bytes) => {
    const before = up.received.length;
    const r = await raw(gw.url, bytes);
    expect(statusOf(r), r).toBe(400);
    expect(r).toMatch(/\r\nconnection: close\r\n/i);
    expect(r).toMatch(/\r\ncontent-type: text\/plain\r\n/i);
    expect(r.endsWith("\r\n\r\nBad Request")).toBe(true);
    expect(up.received.length).toBe(before);
  });

  it("a 20 KB header is within Envoy's default max_request_headers_kb (60): proxied", async () => {
    // The upstream must take it too (Node's own server stops at 16 KiB and would answer 431).
    let seen = 0;
    const big = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
      seen = String(req.headers["x-big"] ?? "").length;
      res.end("ok");
    });
    await new Promise<void>((r) => big.listen(0, "127.0.0.1", r));
    const g = await startGateway({ filters: [], clusters: { upstream: { port: (big.address() as net.AddressInfo).port } } });
    try {
      const r = await raw(g.url, `GET / HTTP/1.1\r\nhost: gw\r\nx-big: ${"a".repeat(20 * 1024)}\r\nconnection: close\r\n\r\n`);
      expect(statusOf(r)).toBe(200);
      expect(seen).toBe(20 * 1024);
    } finally {
      await g.close();
      await new Promise((r) => big.close(r));
    }
  });

  it("headers over 60 KiB: 431 Request Header Fields Too Large", async () => {
    const before = up.received.length;
    const r = await raw(gw.url, `GET / HTTP/1.1\r\nhost: gw\r\nx-big: ${"a".repeat(61 * 1024)}\r\n\r\n`);
    expect(statusOf(r), r.slice(0, 200)).toBe(431);
    expect(r.endsWith("\r\n\r\nRequest Header Fields Too Large")).toBe(true);
    expect(up.received.length).toBe(before);
  });

  it("more than 100 headers (max_headers_count): 431", async () => {
    const before = up.received.length;
    const many = Array.from({ length: 101 }, (_, i) => `x-h${i}: v\r\n`).join("");
    const r = await raw(gw.url, `GET / HTTP/1.1\r\nhost: gw\r\n${many}\r\n`);
    expect(statusOf(r)).toBe(431);
    expect(up.received.length).toBe(before);
    // 100 headers in all (host and connection included) are fine.
    const ok = Array.from({ length: 98 }, (_, i) => `x-h${i}: v\r\n`).join("");
    expect(statusOf(await raw(gw.url, `GET / HTTP/1.1\r\nhost: gw\r\n${ok}connection: close\r\n\r\n`))).toBe(200);
  });

  it("keeps serving well-formed requests afterwards", async () => {
    const r = await send(gw.url, { path: "/x" });
    expect(r.status).toBe(200);
  });
});

describe("the access log and stats of a request the codec refused", () => {
  it("logs one line with the code, Envoy's details and response flag DPE, and counts a 4xx", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "codec-log-")), "access.log");
    const up = await startUpstream();
    const gw = await startGateway({
      filters: [],
      clusters: { upstream: { port: up.port } },
      accessLog: { path, json: { code: "%RESPONSE_CODE%", flags: "%RESPONSE_FLAGS%", details: "%RESPONSE_CODE_DETAILS%", sent: "%BYTES_SENT%" } },
    });
    try {
      await raw(gw.url, "GET / HTTP/1.1\r\nhost: gw\r\nx-a: one\r\n two\r\n\r\n");
      await raw(gw.url, `GET / HTTP/1.1\r\nhost: gw\r\nx-big: ${"a".repeat(61 * 1024)}\r\n\r\n`);
      const read = () => (existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").filter(Boolean) : []);
      for (let i = 0; i < 100 && read().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      const lines = read().map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatchObject({ code: 400, flags: "DPE", sent: 11 });
      expect(String(lines[0]!.details)).toMatch(/^http1\./);
      expect(lines[1]).toMatchObject({ code: 431, flags: "DPE", details: "http1.headers_too_large" });
      const stats = await (await fetch(`${gw.admin}/stats`)).text();
      expect(stats).toMatch(/downstream_rq_4xx: 2\b/);
    } finally {
      await gw.close();
      await up.close();
    }
  });
});

describe("an upstream's 100 Continue before its final response", () => {
  let gw: RunningGateway;
  let upstream: net.Server;
  beforeAll(async () => {
    upstream = net.createServer((s) => {
      s.once("data", () => {
        s.write("HTTP/1.1 100 Continue\r\n\r\n");
        setTimeout(() => s.end("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 5\r\nconnection: close\r\n\r\nfinal"), 20);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
    gw = await startGateway({ filters: [], clusters: { upstream: { port: (upstream.address() as net.AddressInfo).port } } });
  });
  afterAll(async () => {
    await gw?.close();
    await new Promise((r) => upstream.close(r));
  });

  it("forwards the final response (the 1xx is not proxied), not a 503", async () => {
    const r = await send(gw.url, { path: "/x", body: "hello", headers: { "content-type": "text/plain" } });
    expect(r.status, r.body).toBe(200);
    expect(r.body).toBe("final");
  });

  it("swallows several 1xx heads split across reads, on a reused keep-alive connection", async () => {
    let connections = 0;
    const sockets: net.Socket[] = [];
    const keepAlive = net.createServer((s) => {
      connections++;
      sockets.push(s);
      let n = 0;
      s.on("data", (d: Buffer) => {
        if (!d.includes("\r\n\r\n")) return;
        n++;
        s.write("HTTP/1.1 100 Cont");
        setTimeout(() => s.write("inue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n"), 5);
        setTimeout(() => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nreply${n}`), 10);
      });
    });
    await new Promise<void>((r) => keepAlive.listen(0, "127.0.0.1", r));
    const g = await startGateway({ filters: [], clusters: { upstream: { port: (keepAlive.address() as net.AddressInfo).port } } });
    try {
      for (const want of ["reply1", "reply2"]) {
        const r = await send(g.url, { path: "/x" });
        expect(r.status, r.body).toBe(200);
        expect(r.body).toBe(want);
      }
      expect(connections).toBe(1);
    } finally {
      await g.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => keepAlive.close(r));
    }
  });
});
