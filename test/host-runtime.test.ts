// Workers, shared state, properties, metrics, timers and VM failure, through the local gateway.
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, testFilter, type RunningGateway, type WasmFilterSpec } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { enters, probeLines, result, until } from "./support/probe.ts";

const PROBE = testFilter("probe");
let gw: RunningGateway | null = null;
const ups: TestUpstream[] = [];

afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

async function setup(filters: Partial<WasmFilterSpec>[], opts: { concurrency?: number; extra?: string } = {}) {
  const up = await startUpstream();
  ups.push(up);
  gw = await startGateway(
    {
      filters: filters.map((f, i) => ({ name: f.name ?? `probe${i}`, code: PROBE, ...f })),
      clusters: { upstream: { port: up.port } },
      extra: opts.extra,
    },
    { concurrency: opts.concurrency ?? 1 },
  );
  return { up, g: gw };
}

describe("workers and shared state", () => {
  it("spreads connections over the workers' VMs; module state is per VM, shared data is process-wide", async () => {
    const { g } = await setup(
      [
        {
          config: {
            on_request_headers: [["get_shared_data", "k"], ["set_shared_data", "k", "v", 0], ["get_shared_data", "k"]],
          },
        },
      ],
      { concurrency: 2 },
    );
    await send(g.url, { path: "/a" });
    await send(g.url, { path: "/b" });
    const workers = enters(g, "on_request_headers").map((l) => l.worker);
    expect(new Set(workers)).toEqual(new Set([0, 1]));
    // First request: absent; the second, on the other worker's VM, sees the first one's write.
    expect(result(g, "on_request_headers", "get_shared_data", 0).status).toBe(1);
    expect(result(g, "on_request_headers", "get_shared_data", 2).status).toBe(0);
    expect(result(g, "on_request_headers", "get_shared_data", 2).value).toContain("v");
  });

  it("CAS: values start at 1; a stale cas is CAS_MISMATCH; a cas on an absent key succeeds", async () => {
    const { g } = await setup([
      {
        config: {
          on_request_headers: [
            ["set_shared_data", "a", "1", 0],
            ["get_shared_data", "a"],
            ["set_shared_data", "a", "2", 999],
            ["set_shared_data", "absent", "x", 12345],
            ["set_shared_data", "a", "3", 1],
            ["get_shared_data", "a"],
          ],
        },
      },
    ]);
    await send(g.url, { path: "/" });
    expect(result(g, "on_request_headers", "get_shared_data", 0).raw).toMatch(/cas=1\b/);
    expect(result(g, "on_request_headers", "set_shared_data", 1).status).toBe(8);
    expect(result(g, "on_request_headers", "set_shared_data", 2).status).toBe(0);
    expect(result(g, "on_request_headers", "set_shared_data", 3).status).toBe(0);
    expect(result(g, "on_request_headers", "get_shared_data", 1).value).toContain("3");
  });

  it("shared queues: enqueue on one worker wakes on_queue_ready on the registering root context", async () => {
    const { g } = await setup(
      [
        {
          config: {
            on_request_headers: [["register_queue", "q"], ["resolve_queue", "", "q"], ["enqueue", 1, "item"]],
            on_queue_ready: [["dequeue", 1], ["dequeue", 1]],
          },
        },
      ],
      { concurrency: 2 },
    );
    await send(g.url, { path: "/" });
    await until(() => enters(g, "on_queue_ready").length >= 1);
    expect(result(g, "on_request_headers", "register_queue").value).toBe("1");
    expect(result(g, "on_queue_ready", "dequeue", 0)).toMatchObject({ status: 0, value: "item" });
    expect(result(g, "on_queue_ready", "dequeue", 1).status).toBe(7);
    const streamCtx = enters(g, "on_request_headers")[0]!.args.ctx;
    expect(enters(g, "on_queue_ready")[0]!.args.ctx).not.toBe(streamCtx);
  });
});

describe("properties and filter state", () => {
  it("answers plugin, xds, request and response attributes as Envoy serializes them", async () => {
    const { g } = await setup([
      {
        name: "probe-a",
        rootId: "root-a",
        config: {
          on_request_headers: [
            ["get_property", ["plugin_name"]],
            ["get_property", ["plugin_root_id"]],
            ["get_property", ["plugin_vm_id"]],
            ["get_property", ["request", "path"]],
            ["get_property", ["request", "method"]],
            ["get_property", ["xds", "cluster_name"]],
            ["get_property", ["no_such_thing"]],
          ],
          on_response_headers: [
            ["get_property", ["request", "path"]],
            ["get_property", ["response", "code"]],
          ],
        },
      },
    ]);
    await send(g.url, { path: "/props?x=1" });
    const v = (cb: string, n: number) => result(g, cb, "get_property", n);
    expect(v("on_request_headers", 0).value).toBe("probe-a");
    expect(v("on_request_headers", 1).value).toBe("root-a");
    expect(v("on_request_headers", 2).value).toBe("probe-a");
    expect(v("on_request_headers", 3).value).toBe("/props?x=1");
    expect(v("on_request_headers", 4).value).toBe("GET");
    expect(v("on_request_headers", 6).status).toBe(1);
    // Once request headers have continued, header-derived request attributes are gone.
    expect(v("on_response_headers", 0).status).toBe(1);
    // response.code is an int64, little-endian.
    expect(v("on_response_headers", 1).raw).toMatch(/hex=c800000000000000|value=200\b/);
  });

  it("set_property writes filter state that the stream's other filters read; outside a stream it is NOT_FOUND", async () => {
    const { g } = await setup([
      { name: "writer", config: { on_configure: [["set_property", ["ai.record"], "nope"]], on_request_headers: [["set_property", ["ai.record"], "{\"tokens\":3}"]] } },
      { name: "reader", config: { on_request_headers: [["get_property", ["ai.record"]]] } },
    ]);
    await send(g.url, { path: "/" });
    expect(result(g, "on_configure", "set_property").status).toBe(1);
    expect(result(g, "on_request_headers", "set_property").status).toBe(0);
    expect(result(g, "on_request_headers", "get_property").value).toBe('{"tokens":3}');
  });

  it("lib/abi's PropertyReader reads what get_property reads: into its region, past it, empty and absent", async () => {
    const long = "x".repeat(300);
    const { g } = await setup([
      {
        name: "writer",
        config: { on_request_headers: [["set_property", ["ai.short"], "abc"], ["set_property", ["ai.long"], long], ["set_property", ["ai.empty"], ""]] },
      },
      {
        name: "reader",
        config: {
          on_request_headers: [
            ["read_property", ["ai.short"], 16],
            ["read_property", ["ai.long"], 16], // larger than the region: read apart, then the region grows
            ["read_property", ["ai.empty"], 16],
            ["read_property", ["ai.absent"], 16],
            ["read_property", ["request", "path"], 8],
            ["get_property", ["request", "path"]],
          ],
        },
      },
    ]);
    await send(g.url, { path: "/p?q=1" });
    const hex = (s: string) => Buffer.from(s).toString("hex");
    const read = (n: number) => result(g, "on_request_headers", "read_property", n);
    expect(read(0).raw).toContain(`status=0 value_hex=${hex("abc")} value_hex=${hex("abc")}`);
    expect(read(1).raw).toContain(`status=0 value_hex=${hex(long)} value_hex=${hex(long)}`);
    expect(read(2).raw).toMatch(/status=0 value_hex= value_hex=$/);
    expect(read(3).raw).toContain("status=1 absent absent");
    expect(read(4).raw).toContain(`status=0 value_hex=${hex("/p?q=1")} value_hex=${hex("/p?q=1")}`);
    expect(result(g, "on_request_headers", "get_property").value).toBe("/p?q=1");
  });
});

describe("metrics", () => {
  it("follows Envoy's counter/gauge/histogram rules and shares stats across worker VMs", async () => {
    const { g } = await setup(
      [
        {
          config: {
            on_request_headers: [
              ["define_metric", 0, "probe_requests"],
              ["define_metric", 1, "probe_gauge"],
              ["define_metric", 2, "probe_hist"],
              ["increment_metric", "probe_requests", 1],
              ["increment_metric", "probe_requests", 0],
              ["increment_metric", "probe_requests", -1],
              ["record_metric", "probe_requests", 2],
              ["increment_metric", "probe_gauge", 5],
              ["increment_metric", "probe_gauge", -2],
              ["record_metric", "probe_hist", 42],
              ["increment_metric", "probe_hist", 1],
              ["get_metric", "probe_hist"],
              ["get_metric", "probe_requests"],
            ],
          },
        },
      ],
      { concurrency: 2 },
    );
    await send(g.url, { path: "/" });
    await send(g.url, { path: "/" });
    const r = (op: string, n: number) => result(g, "on_request_headers", op, n).status;
    expect(r("increment_metric", 0)).toBe(0);
    expect(r("increment_metric", 1)).toBe(2); // counter delta 0
    expect(r("increment_metric", 2)).toBe(2); // counter delta < 0
    expect(r("increment_metric", 3)).toBe(0); // gauge +5
    expect(r("increment_metric", 4)).toBe(0); // gauge -2
    expect(r("increment_metric", 5)).toBe(2); // histogram
    expect(r("get_metric", 0)).toBe(2); // histogram
    expect(r("get_metric", 1)).toBe(0);
    expect(result(g, "on_request_headers", "define_metric", 0).value).toBe("4");
    expect(result(g, "on_request_headers", "define_metric", 1).value).toBe("5");
    expect(result(g, "on_request_headers", "define_metric", 2).value).toBe("6");
    const prom = await (await fetch(`${g.admin}/stats/prometheus`)).text();
    // Two requests on two VMs, each adding 1 + record 2: one shared counter at 6.
    // Envoy prints an empty label set as {} (envoy issue #10073).
    expect(prom).toMatch(/^probe_requests\{\} 6$/m);
    expect(prom).toMatch(/^probe_gauge\{\} 6$/m);
    expect(prom).toMatch(/^probe_hist_count\{\} 2$/m);
    expect(prom).not.toMatch(/envoy_probe_requests|wasmcustom/);
  });

  it("turns label delimiters in stat names into Prometheus labels with stats_tags", async () => {
    const { g } = await setup(
      [
        {
          config: {
            on_request_headers: [
              ["define_metric", 0, "ai_llm_requests_total;.;ai_provider=.=openai;.;ai_model=.=gpt-4.1-mini;.;"],
              ["increment_metric", "ai_llm_requests_total;.;ai_provider=.=openai;.;ai_model=.=gpt-4.1-mini;.;", 1],
            ],
          },
        },
      ],
      {
        extra: `
stats_config:
  stats_tags:
  - tag_name: ai_provider
    regex: "(;\\\\.;ai_provider=\\\\.=(.*?);\\\\.;)"
  - tag_name: ai_model
    regex: "(ai_model=\\\\.=(.*?);\\\\.;)"`,
      },
    );
    await send(g.url, { path: "/" });
    const prom = await (await fetch(`${g.admin}/stats/prometheus`)).text();
    expect(prom).toMatch(/^ai_llm_requests_total\{ai_provider="openai",ai_model="gpt-4\.1-mini"\} 1$/m);
  });
});

describe("timers", () => {
  it("calls on_tick on the root context at the period set in on_configure", async () => {
    const { g } = await setup([{ config: { on_configure: [["set_tick", 30]], on_tick: [["get_current_time"]] } }]);
    await until(() => enters(g, "on_tick").length >= 2);
    expect(enters(g, "on_tick")[0]!.args.ctx).toBe(probeLines(g).find((l) => l.cb === "on_configure")?.args.ctx ?? "1");
  });
});

describe("a trap fails the VM", () => {
  it("answers 503 wasm_fail_stream to that stream and every later one on the VM", async () => {
    const { up, g } = await setup([{ config: { on_request_headers: [["trap"]] } }]);
    const r1 = await send(g.url, { path: "/1" });
    const r2 = await send(g.url, { path: "/2" });
    expect(r1.status).toBe(503);
    expect(r2.status).toBe(503);
    // The module is not called again once its VM failed.
    expect(enters(g, "on_request_headers")).toHaveLength(1);
    expect(up.received).toHaveLength(0);
  });

  it("AssemblyScript's abort (fd_write, proc_exit that returns, unreachable) fails the VM the same way", async () => {
    const { g } = await setup([{ config: { on_request_headers: [["abort", "boom"]] } }]);
    expect((await send(g.url, { path: "/1" })).status).toBe(503);
    expect((await send(g.url, { path: "/2" })).status).toBe(503);
  });

  it("with fail_open, a failed VM's filter is skipped", async () => {
    const { up, g } = await setup([{ failOpen: true, config: { on_request_headers: [["trap"]] } }]);
    const r1 = await send(g.url, { path: "/1" });
    const r2 = await send(g.url, { path: "/2" });
    expect(r1.status).toBe(200);
    expect(r2.status).toBe(200);
    expect(up.received.map((x) => x.path)).toEqual(["/1", "/2"]);
  });
});
