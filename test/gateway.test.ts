// The local gateway as an Envoy: routes (prefix, path, headers, rewrites, direct responses),
// per-route filter enablement, upstream faults with Envoy's statuses, streaming, access log.
import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { proxyModule, writeTemp } from "./support/wat.ts";

// A filter with no SDK: adds "x-wat: <root id>" to every response.
const STAMP = writeTemp(
  proxyModule(`
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (data (i32.const 16) "x-wat1")
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) (i32.const 16) (i32.const 5) (i32.const 21) (i32.const 1)))
    i32.const 0)`),
  "stamp.wasm",
);

let gw: RunningGateway | null = null;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function upstream(handler?: Parameters<typeof startUpstream>[0]): Promise<TestUpstream> {
  const u = await startUpstream(handler);
  closers.push(() => u.close());
  return u;
}

describe("routing", () => {
  it("routes by prefix, rewrites the prefix, answers direct responses and 404s unknown routes", async () => {
    const a = await upstream();
    const b = await upstream();
    gw = await startGateway({
      filters: [],
      routes: [
        { prefix: "/a/", cluster: "a", prefixRewrite: "/v1/" },
        { prefix: "/b", cluster: "b" },
        { prefix: "/hello", direct: { status: 200, body: "hi" } },
      ],
      clusters: { a: { port: a.port }, b: { port: b.port } },
    });
    expect((await send(gw.url, { path: "/a/chat?x=1" })).status).toBe(200);
    expect(a.received[0]!.path).toBe("/v1/chat?x=1");
    expect(a.received[0]!.headers["x-envoy-original-path"]).toBe("/a/chat?x=1");
    expect((await send(gw.url, { path: "/b/x" })).status).toBe(200);
    expect(b.received[0]!.path).toBe("/b/x");
    const hello = await send(gw.url, { path: "/hello" });
    expect([hello.status, hello.body, hello.headers.server]).toEqual([200, "hi", "envoy"]);
    expect((await send(gw.url, { path: "/nowhere" })).status).toBe(404);
  });

  it("adds an x-request-id unless the request has one, and none with generate_request_id: false", async () => {
    const up = await upstream();
    gw = await startGateway({ filters: [], routes: [{ prefix: "/", cluster: "up" }], clusters: { up: { port: up.port } } });
    await send(gw.url, { path: "/a" });
    await send(gw.url, { path: "/b", headers: { "x-request-id": "client-id" } });
    expect(up.received[0]!.headers["x-request-id"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(up.received[1]!.headers["x-request-id"]).toBe("client-id");
    await gw.close();
    gw = await startGateway({ filters: [], routes: [{ prefix: "/", cluster: "up" }], clusters: { up: { port: up.port } }, generateRequestId: false });
    await send(gw.url, { path: "/c" });
    await send(gw.url, { path: "/d", headers: { "x-request-id": "client-id" } });
    expect(up.received[2]!.headers["x-request-id"]).toBeUndefined();
    expect(up.received[3]!.headers["x-request-id"]).toBe("client-id");
  });

  it("enables a filter declared disabled only on routes whose typed_per_filter_config says so", async () => {
    const up = await upstream();
    gw = await startGateway({
      filters: [{ name: "stamp", code: STAMP, disabled: true }],
      routes: [
        { prefix: "/on", cluster: "upstream", perFilter: { stamp: { disabled: false } } },
        { prefix: "/", cluster: "upstream" },
      ],
      clusters: { upstream: { port: up.port } },
    });
    expect((await send(gw.url, { path: "/on" })).headers["x-wat"]).toBe("1");
    expect((await send(gw.url, { path: "/off" })).headers["x-wat"]).toBeUndefined();
  });

  it("disables an enabled filter per route", async () => {
    const up = await upstream();
    gw = await startGateway({
      filters: [{ name: "stamp", code: STAMP }],
      routes: [
        { prefix: "/off", cluster: "upstream", perFilter: { stamp: { disabled: true } } },
        { prefix: "/", cluster: "upstream" },
      ],
      clusters: { upstream: { port: up.port } },
    });
    expect((await send(gw.url, { path: "/off" })).headers["x-wat"]).toBeUndefined();
    expect((await send(gw.url, { path: "/x" })).headers["x-wat"]).toBe("1");
  });
});

describe("upstream faults", () => {
  it("answers 503 for a connect failure and 504 for a route timeout, as Envoy's router does", async () => {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const closed = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const slow = await upstream(async (_r, res) => {
      await new Promise((r) => setTimeout(r, 1000));
      res.end("late");
    });
    gw = await startGateway({
      filters: [],
      routes: [
        { prefix: "/dead", cluster: "dead" },
        { prefix: "/slow", cluster: "slow", timeout: "0.2s" },
      ],
      clusters: { dead: { port: closed }, slow: { port: slow.port } },
    });
    const dead = await send(gw.url, { path: "/dead" });
    expect(dead.status).toBe(503);
    expect(dead.body).toMatch(/^upstream connect error or disconnect\/reset before headers/);
    const late = await send(gw.url, { path: "/slow" });
    expect(late.status).toBe(504);
    expect(late.body).toBe("upstream request timeout");
  });
});

describe("streaming", () => {
  it("passes a streamed response through chunk by chunk, nothing buffered", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const up = await upstream(async (_r, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write("data: one\n\n");
      await gate;
      res.end("data: two\n\n");
    });
    gw = await startGateway({ filters: [{ name: "stamp", code: STAMP }], clusters: { upstream: { port: up.port } } });
    const first = await new Promise<string>((resolve) => {
      http.get(`${gw!.url}/s`, (res) => {
        res.once("data", (c: Buffer) => {
          resolve(c.toString());
          release();
          res.resume();
        });
      });
    });
    // The first event arrives while the upstream is still holding the second one.
    expect(first).toBe("data: one\n\n");
  });

  it("answers concurrent streams on keep-alive connections byte for byte as a lone stream (responses then flush with the loop iteration's writes)", async () => {
    // Content-length, chunked and bodiless answers from the upstream, and a direct response.
    const up = await upstream((r, res) => {
      const n = r.path.slice(-1);
      if (n === "0") res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ path: r.path.replace(/\d+\/(\d)$/, "$1"), échos: "é" }));
      else if (n === "1") (res.writeHead(200, { "content-type": "text/event-stream" }).write("data: a\n\n"), res.end("data: b\n\n"));
      else res.writeHead(204).end();
    });
    gw = await startGateway({
      filters: [{ name: "stamp", code: STAMP }],
      routes: [{ prefix: "/direct", direct: { status: 200, body: "hi" } }, { prefix: "/", cluster: "upstream" }],
      clusters: { upstream: { port: up.port } },
    });
    const port = Number(new URL(gw.url).port);
    /** Sends the paths one after another on one connection; each raw response, with its clock-dependent headers cut. */
    const conversation = async (paths: string[]): Promise<string[]> => {
      const s = (await import("node:net")).connect(port, "127.0.0.1");
      let buf = "";
      s.on("data", (d: Buffer) => (buf += d.toString("latin1")));
      const out: string[] = [];
      for (const p of paths) {
        s.write(`GET ${p} HTTP/1.1\r\nhost: gw\r\n\r\n`);
        for (;;) {
          const head = buf.indexOf("\r\n\r\n");
          if (head >= 0) {
            const len = /\r\ncontent-length: (\d+)\r\n/i.exec(buf.slice(0, head))?.[1];
            const end = len !== undefined ? head + 4 + Number(len) : /\r\n204 |^HTTP\/1\.1 204/.test(buf.slice(0, head)) ? head + 4 : buf.indexOf("\r\n0\r\n\r\n", head) + 7;
            if (end > head && buf.length >= end) {
              out.push(buf.slice(0, end).replace(/\r\n(date|x-envoy-upstream-service-time): [^\r]*/gi, ""));
              buf = buf.slice(end);
              break;
            }
          }
          await new Promise((r) => setTimeout(r, 1));
        }
      }
      s.destroy();
      return out;
    };
    const paths = (c: number) => Array.from({ length: 6 }, (_, i) => (i === 5 ? "/direct" : `/c${c}/${i % 3}`));
    // Alone: one stream in flight at a time, each response written as it ends.
    const alone = await conversation(paths(0));
    // Eight connections at once: streams overlap, and responses wait for the iteration's flush.
    const together = await Promise.all(Array.from({ length: 8 }, (_, c) => conversation(paths(c))));
    for (const got of together) expect(got).toEqual(alone);
    expect(alone[0]).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*x-wat: 1\r\n[\s\S]*\r\n\r\n[0-9a-f]+\r\n\{"path":"\/c0","Ã©chos":"Ã©"\}\r\n0\r\n\r\n$/);
    expect(alone[1]).toMatch(/transfer-encoding: chunked\r\n\r\n9\r\ndata: a\n\n\r\n9\r\ndata: b\n\n\r\n0\r\n\r\n$/i);
    expect(alone[2]).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
    expect(alone[5]).toMatch(/\r\n\r\nhi$/);
  });
});

describe("access log", () => {
  it("writes one JSON line per request with Envoy's operators, after the response", async () => {
    const { mkdtempSync, readFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const path = join(mkdtempSync(join(tmpdir(), "aigw-al-")), "access.log");
    const up = await upstream();
    gw = await startGateway({
      filters: [{ name: "stamp", code: STAMP }],
      routes: [
        { prefix: "/gone", direct: { status: 410, body: "gone" } },
        { prefix: "/", cluster: "upstream" },
      ],
      clusters: { upstream: { port: up.port } },
      accessLog: { path, json: { status: "%RESPONSE_CODE%", path: "%REQ(:PATH)%", method: "%REQ(:METHOD)%", details: "%RESPONSE_CODE_DETAILS%", sent: "%BYTES_SENT%", cluster: "%UPSTREAM_CLUSTER%" } },
    });
    await send(gw.url, { path: "/a", body: "hello" });
    await send(gw.url, { path: "/gone" });
    const { until } = await import("./support/probe.ts");
    await until(() => {
      try {
        return readFileSync(path, "utf8").split("\n").length >= 3;
      } catch {
        return false;
      }
    });
    const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ status: 200, path: "/a", method: "POST", details: "via_upstream", cluster: "upstream" });
    expect(lines[1]).toMatchObject({ status: 410, path: "/gone", details: "direct_response", sent: 4 });
  });
});

describe("listeners", () => {
  it("serves several listeners, each with its own route table", async () => {
    const listener = (name: string, body: string) => `
  - name: ${name}
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { path: "/" }
                direct_response: { status: 200, body: { inline_string: ${body} } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
    gw = await startGateway(`static_resources:\n  listeners:${listener("main", "first")}${listener("second", "second")}\n`);
    const second = `http://127.0.0.1:${gw.gw.ports.get("second")}`;
    expect((await send(gw.url, { path: "/" })).body).toBe("first");
    expect((await send(second, { path: "/" })).body).toBe("second");
    // path match is exact: /x matches no route on either listener.
    expect((await send(second, { path: "/x" })).status).toBe(404);
  });
});
