// lib/runtime's conveniences as a filter author uses them (test/filters/sdk-check), through the
// host: whole-body buffering, body replacement, an http callout that resumes its stream.
import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { startGateway, testFilter, type RunningGateway } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";

let gw: RunningGateway | null = null;
const ups: TestUpstream[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

async function setup(calloutPort?: number) {
  const up = await startUpstream((r, res) => {
    res.writeHead(200, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(r.body)) });
    res.end(r.body);
  });
  const callout = await startUpstream((r, res) => {
    res.end(`checked(${r.body})`);
  });
  ups.push(up, callout);
  gw = await startGateway({
    filters: [{ name: "sdk", code: testFilter("sdk-check") }],
    clusters: { upstream: { port: up.port }, callout: { port: calloutPort ?? callout.port } },
  });
  return { up, callout, g: gw };
}

describe("lib/runtime through the host", () => {
  it("buffers the whole request body once and replaces it; buffers and rewrites the response", async () => {
    const { up, g } = await setup();
    const r = await send(g.url, { path: "/upper", chunks: ["abc", "def"], gapMs: 30 });
    expect(up.received[0]!.body).toBe("ABCDEF");
    expect(r.body).toBe("ABCDEF!");
  });

  it("keeps each stream's context when a long-lived stream's id shares a table slot with a later one", async () => {
    // lib/runtime/state.ts keeps contexts in a 1024-slot table by id, with a Map for an id whose
    // slot is taken: the first stream stays open while over 1024 later streams come and go, so
    // one of them (and the first stream's own later callbacks) meets the taken slot.
    const { up, g } = await setup();
    // The first request's body is held open (chunked) until the later requests are done.
    const req = http.request(`${g.url}/upper`, { method: "POST", agent: false });
    const first = new Promise<string>((resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
    });
    req.write("abc");
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 1100; i++) {
      const r = await send(g.url, { path: "/upper", body: `x${i}` });
      expect(r.body).toBe(`X${i}!`);
    }
    expect(up.received).toHaveLength(1100);
    req.end("def");
    expect(await first).toBe("ABCDEF!");
  }, 60_000);

  it("makes an http callout from the body phase and resumes the stream with its answer", async () => {
    const { up, callout, g } = await setup();
    const r = await send(g.url, { path: "/callout", body: "q" });
    expect(callout.received[0]!.body).toBe("q");
    expect(up.received[0]!.body).toBe("q+checked(q)");
    expect(r.body).toBe("q+checked(q)!");
  });

  it("sees a connect failure as the router's 503 and answers locally", async () => {
    const s = http.createServer();
    await new Promise<void>((res) => s.listen(0, "127.0.0.1", res));
    const closed = (s.address() as AddressInfo).port;
    await new Promise<void>((res) => s.close(() => res()));
    const { up, g } = await setup(closed);
    const r = await send(g.url, { path: "/callout", body: "q" });
    expect(r.status).toBe(502);
    expect(r.body).toBe("callout failed: 503!");
    expect(up.received).toHaveLength(0);
  });
});
