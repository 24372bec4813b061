import { afterEach, describe, expect, it } from "vitest";
import { startAdmin, type AdminServer } from "../host/gateway/admin.ts";
import { StatsStore } from "../host/stats/store.ts";

let admin: AdminServer | null = null;
afterEach(async () => {
  await admin?.close();
  admin = null;
});

async function start(ready = true, state?: () => "DRAINING") {
  const stats = new StatsStore({ tagSpecifiers: [{ tagName: "ai_provider", regex: String.raw`(;\.;ai_provider=\.=(.*?);\.;)` }] });
  stats.counter("wasmcustom.ai_llm_requests_total;.;ai_provider=.=openai;.;").add(2);
  stats.counter("cluster.openai.upstream_rq_total").add(3);
  stats.gauge("server.live").set(1);
  stats.counter("never.used");
  admin = await startAdmin({ address: "127.0.0.1", port: 0 }, { stats, isReady: () => ready, ...(state ? { state } : {}) });
  const base = `http://127.0.0.1:${admin.port}`;
  return { stats, get: (path: string) => fetch(base + path) };
}

describe("admin listener", () => {
  it("picks a free port for port 0", async () => {
    await start();
    expect(admin!.port).toBeGreaterThan(0);
  });

  it("/ready answers LIVE with 200, otherwise the state with 503", async () => {
    const live = await start();
    const r = await live.get("/ready");
    expect([r.status, await r.text()]).toEqual([200, "LIVE\n"]);
    await admin!.close();
    admin = null;
    const starting = await start(false);
    const r2 = await starting.get("/ready");
    expect([r2.status, await r2.text()]).toEqual([503, "INITIALIZING\n"]);
    await admin!.close();
    admin = null;
    const draining = await start(false, () => "DRAINING");
    expect(await (await draining.get("/ready")).text()).toBe("DRAINING\n");
  });

  it("/stats/prometheus serves the store with Envoy's headers", async () => {
    const { get, stats } = await start();
    const r = await get("/stats/prometheus");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; charset=UTF-8");
    expect(r.headers.get("cache-control")).toBe("no-cache, max-age=0");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    const body = await r.text();
    expect(body).toBe(stats.renderPrometheus());
    expect(body).toContain('ai_llm_requests_total{ai_provider="openai"} 2\n');
    expect(body).toContain('envoy_cluster_upstream_rq_total{envoy_cluster_name="openai"} 3\n');
    const used = await (await get("/stats/prometheus?usedonly")).text();
    expect(used).not.toContain("envoy_never_used");
    expect(body).toContain("envoy_never_used{} 0\n");
  });

  it("/stats serves text, JSON and Prometheus formats and refuses others", async () => {
    const { get } = await start();
    const text = await (await get("/stats")).text();
    expect(text).toContain("cluster.openai.upstream_rq_total: 3\n");
    expect(text).toContain("server.live: 1\n");
    const json = await get("/stats?format=json");
    expect(json.headers.get("content-type")).toBe("application/json");
    expect((await json.json()) as unknown).toMatchObject({ stats: expect.arrayContaining([{ name: "server.live", value: 1 }]) });
    expect(await (await get("/stats?format=prometheus")).text()).toContain("# TYPE envoy_server_live gauge\n");
    const bad = await get("/stats?format=xml");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("usage: /stats?format=json  or /stats?format=prometheus");
    expect(await (await get("/stats?filter=^server")).text()).toBe("server.live: 1\n");
    expect((await get("/stats?filter=(")).status).toBe(400);
  });

  it("answers 404 with the command list for unknown paths", async () => {
    const { get } = await start();
    const r = await get("/config_dump");
    expect(r.status).toBe(404);
    expect(await r.text()).toContain("invalid path. admin commands are:\n  /ready:");
  });
});
