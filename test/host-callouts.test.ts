// proxy_http_call as Envoy does it: required pseudo-headers, the response on the root context,
// router-synthesized 503/504 responses, (token,0,0,0) on a reset, set_effective_context.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, testFilter, type RunningGateway } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { enters, result, until } from "./support/probe.ts";
import { closedPort } from "./support/upstream.ts";

const PROBE = testFilter("probe");
let gw: RunningGateway | null = null;
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function setup(script: Record<string, unknown>, calloutPort: number) {
  const up: TestUpstream = await startUpstream();
  closers.push(() => up.close());
  gw = await startGateway({
    filters: [{ name: "probe", code: PROBE, config: script }],
    clusters: { upstream: { port: up.port }, callout: { port: calloutPort, connectTimeout: "0.5s" } },
  });
  return { up, g: gw };
}

const hdrs = (extra: [string, string][] = []) => [[":method", "POST"], [":path", "/check"], [":authority", "svc"], ...extra];
const resumeAndReply = [["resume_origin"], ["get_headers", 6], ["get_buffer", 4, 0, 1000], ["get_status"], ["send_local_response", 200, "callout_done", "done", [], -1]];

async function calloutServer(handler: http.RequestListener): Promise<number> {
  const s = http.createServer(handler);
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  closers.push(async () => {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  });
  return (s.address() as AddressInfo).port;
}

describe("http_call", () => {
  it("refuses a call without :authority, to an unknown cluster, or with a negative timeout (BAD_ARGUMENT)", async () => {
    const port = await calloutServer((_q, s) => s.end("x"));
    const { g } = await setup(
      {
        on_request_headers: [
          ["http_call", "callout", [[":method", "GET"], [":path", "/"]], "", 1000],
          ["http_call", "no-such-cluster", hdrs(), "", 1000],
          ["http_call", "callout", hdrs(), "", -1],
        ],
      },
      port,
    );
    await send(g.url, { path: "/p" });
    expect(result(g, "on_request_headers", "http_call", 0).status).toBe(2);
    expect(result(g, "on_request_headers", "http_call", 1).status).toBe(2);
    expect(result(g, "on_request_headers", "http_call", 2).status).toBe(2);
  });

  it("delivers the response to the root context; set_effective_context resumes the stream", async () => {
    let seen: { method?: string; body: string; length?: string } = { body: "" };
    const port = await calloutServer((q, s) => {
      let b = "";
      q.on("data", (c: Buffer) => (b += c));
      q.on("end", () => {
        seen = { method: q.method, body: b, length: q.headers["content-length"] };
        s.writeHead(201, { "x-svc": "yes" });
        s.end("verdict:ok");
      });
    });
    const { up, g } = await setup({ on_request_headers: [["http_call", "callout", hdrs(), "payload", 2000], ["return", 1]], on_http_call_response: resumeAndReply }, port);
    const r = await send(g.url, { path: "/p" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("done");
    const call = enters(g, "on_http_call_response")[0]!;
    const streamCtx = enters(g, "on_request_headers")[0]!.args.ctx;
    // The callback runs on the root context, not on the stream that made the call.
    expect(call.args.ctx).not.toBe(streamCtx);
    expect(call.args.token).toBe(result(g, "on_request_headers", "http_call").value);
    expect(result(g, "on_http_call_response", "get_headers").value).toContain("x-svc");
    expect(result(g, "on_http_call_response", "get_buffer").value).toBe("verdict:ok");
    expect(seen).toEqual({ method: "POST", body: "payload", length: "7" });
    expect(up.received).toHaveLength(0);
  });

  it("without set_effective_context, continue_stream from the root context is accepted and does nothing", async () => {
    const port = await calloutServer((_q, s) => s.end("ok"));
    const { up, g } = await setup({ on_request_headers: [["http_call", "callout", hdrs(), "", 2000], ["return", 1]], on_http_call_response: [["continue_stream", 0]] }, port);
    const pending = send(g.url, { path: "/p" });
    await until(() => enters(g, "on_http_call_response").length === 1);
    expect(result(g, "on_http_call_response", "continue_stream").status).toBe(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(up.received).toHaveLength(0);
    await gw!.close();
    gw = null;
    await pending;
  });

  it("a connect failure arrives as a successful 503 response synthesized by the router", async () => {
    const { g } = await setup({ on_request_headers: [["http_call", "callout", hdrs(), "", 2000], ["return", 1]], on_http_call_response: resumeAndReply }, await closedPort());
    await send(g.url, { path: "/p" });
    expect(Number(enters(g, "on_http_call_response")[0]!.args.headers)).toBeGreaterThan(0);
    expect(result(g, "on_http_call_response", "get_headers").value).toContain('":status","503"');
    expect(result(g, "on_http_call_response", "get_buffer").value).toMatch(/^upstream connect error or disconnect\/reset before headers/);
  });

  it("a timeout arrives as a successful 504 'upstream request timeout'", async () => {
    const port = await calloutServer(() => {
      /* never answers */
    });
    const { g } = await setup({ on_request_headers: [["http_call", "callout", hdrs(), "", 150], ["return", 1]], on_http_call_response: resumeAndReply }, port);
    await send(g.url, { path: "/p" });
    expect(result(g, "on_http_call_response", "get_headers").value).toContain('":status","504"');
    expect(result(g, "on_http_call_response", "get_buffer").value).toBe("upstream request timeout");
  });

  it("a reset after the response started gives (token, 0, 0, 0) and get_status 11 'reset'", async () => {
    const port = await calloutServer((_q, s) => {
      s.writeHead(200, { "content-length": "100" });
      s.write("partial");
      setTimeout(() => s.socket?.destroy(), 20);
    });
    const { g } = await setup({ on_request_headers: [["http_call", "callout", hdrs(), "", 2000], ["return", 1]], on_http_call_response: resumeAndReply }, port);
    await send(g.url, { path: "/p" });
    const call = enters(g, "on_http_call_response")[0]!;
    expect([call.args.headers, call.args.body, call.args.trailers]).toEqual(["0", "0", "0"]);
    expect(result(g, "on_http_call_response", "get_status").status).toBe(0);
    expect(result(g, "on_http_call_response", "get_status").value).toContain("11");
    expect(result(g, "on_http_call_response", "get_status").value).toContain("reset");
  });
});
