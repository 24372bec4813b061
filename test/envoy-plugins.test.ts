// Plugin identity and per-route enabling as Envoy has them, checked with requests whose
// response shows which plugin ran (response-headers adds its own configured header).
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, filter, type RunningGateway } from "./support/gateway.ts";
import { formsYaml, get, okRoute, wasmEntry } from "./support/wasm-forms.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "./support/probe.ts";

let g: RunningGateway | null = null;
let up: TestUpstream | null = null;
afterEach(async () => {
  await g?.close();
  g = null;
  await up?.close();
  up = null;
});

const urlOf = (gw: RunningGateway, listener: string) => `http://127.0.0.1:${gw.gw.ports.get(listener)}`;

describe("plugin identity: each http_filters entry runs its own plugin", () => {
  // proxy-wasm-cpp-host src/wasm.cc: thread-local plugins are keyed by VM key + plugin key
  // (PluginBase::key_ = root_id || configuration || Envoy's key; Envoy's createPluginKey in
  // source/extensions/common/wasm/plugin.cc hashes every PluginConfig field but vm_config), never
  // by the http filter's name.
  it("runs both filters of a chain that share the canonical name envoy.filters.http.wasm", async () => {
    g = await startGateway(
      formsYaml([
        {
          name: "main",
          filters:
            wasmEntry({ filter: "envoy.filters.http.wasm", plugin: "first", vmId: "shared", config: { headers: { "x-first": "1" } } }) +
            wasmEntry({ filter: "envoy.filters.http.wasm", plugin: "second", vmId: "shared", config: { headers: { "x-second": "2" } } }),
        },
      ]),
    );
    const r = await get(g.url);
    expect(r.status).toBe(200);
    expect(r.headers.get("x-first")).toBe("1"); // once, not twice
    expect(r.headers.get("x-second")).toBe("2");
    expect(g.gw.pluginCount).toBe(2);
    // One VM (same vm_id, VM configuration and code), two root contexts.
    const [a, b] = [...g.gw.plugins.values()];
    expect(a!.vm(0)).toBe(b!.vm(0));
    expect(a!.roots[0]).not.toBe(b!.roots[0]);
  });

  it("runs each listener's own plugin when both filters have the same name", async () => {
    g = await startGateway(
      formsYaml([
        { name: "a", filters: wasmEntry({ filter: "envoy.filters.http.wasm", plugin: "rh", config: { headers: { "x-listener": "a" } } }) },
        { name: "b", filters: wasmEntry({ filter: "envoy.filters.http.wasm", plugin: "rh", config: { headers: { "x-listener": "b" } } }) },
      ]),
    );
    expect((await get(urlOf(g, "a"))).headers.get("x-listener")).toBe("a");
    expect((await get(urlOf(g, "b"))).headers.get("x-listener")).toBe("b");
    expect(g.gw.pluginCount).toBe(2);
  });

  it("shares one root context between entries whose plugin key is the same, and VMs only by VM key", async () => {
    const same = { filter: "rh", plugin: "rh", rootId: "r", vmId: "v", config: { headers: { "x-same": "1" } } };
    g = await startGateway(
      formsYaml([
        { name: "a", filters: wasmEntry(same) },
        { name: "b", filters: wasmEntry(same) + wasmEntry({ ...same, filter: "rh2", vmId: "other" }) },
      ]),
    );
    expect(g.gw.plugin("rh", 0)).toBe(g.gw.plugin("rh", 1)); // same VM key and plugin key
    const other = g.gw.plugin("rh2", 1);
    expect(other).not.toBe(g.gw.plugin("rh", 1));
    expect(other.vm(0)).not.toBe(g.gw.plugin("rh", 1).vm(0)); // another vm_id: another VM
    expect((await get(urlOf(g, "b"))).headers.get("x-same")).toBe("1, 1");
  });
});

describe("per-route FilterConfig (source/common/router/per_filter_config.cc)", () => {
  const routes = (on: string) => `${okRoute("/on", `
                typed_per_filter_config:
                  stamp:
                    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
${on}`)}${okRoute("/")}`;

  it("enables a default-disabled filter on a route with `config: {}` (an Any with no type)", async () => {
    g = await startGateway(
      formsYaml([{ name: "main", filters: wasmEntry({ filter: "stamp", disabled: true, config: { headers: { "x-stamp": "on" } } }), routes: routes("                    config: {}") }]),
    );
    expect((await get(g.url, "/on")).headers.get("x-stamp")).toBe("on");
    expect((await get(g.url, "/other")).headers.get("x-stamp")).toBeNull();
  });

  it("refuses a FilterConfig with neither disabled: true nor a config, as Envoy does", async () => {
    const yaml = formsYaml([{ name: "main", filters: wasmEntry({ filter: "stamp", disabled: true, config: { headers: { "x-stamp": "on" } } }), routes: routes("                    disabled: false") }]);
    await expect(startGateway(yaml)).rejects.toThrow(
      "route_config.virtual_hosts[0].routes[0].typed_per_filter_config.stamp.config: Empty route/virtual host per filter configuration for stamp filter",
    );
  });

  it("refuses a typed route-specific config for the Wasm filter, and accepts it when is_optional", async () => {
    const typed = `                    config: { "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm }`;
    const base = { name: "main", filters: wasmEntry({ filter: "stamp", disabled: true, config: { headers: { "x-stamp": "on" } } }) };
    await expect(startGateway(formsYaml([{ ...base, routes: routes(typed) }]))).rejects.toThrow("The filter stamp doesn't support virtual host or route specific configurations");
    g = await startGateway(formsYaml([{ ...base, routes: routes(`${typed}\n                    is_optional: true`) }]));
    expect((await get(g.url, "/on")).headers.get("x-stamp")).toBe("on");
  });

  it("accepts a key that names no filter of the chain, with a warning", async () => {
    g = await startGateway(formsYaml([{ name: "main", filters: wasmEntry({ filter: "stamp", config: { headers: { "x-stamp": "on" } } }), routes: routes("                    disabled: true").replace("stamp:\n", "stmap:\n") }]));
    expect(g.logs.some((l) => l.level === 3 && l.message.includes('"stmap" names no HTTP filter'))).toBe(true);
    expect((await get(g.url, "/on")).headers.get("x-stamp")).toBe("on");
  });
});

describe("the plugin configuration as Envoy hands it over", () => {
  // MessageUtil::anyToBytes: a Struct is the Any's protobuf bytes. The filter (lib/runtime)
  // refuses them and says to use a StringValue.
  it("a Struct configuration reaches the filter as protobuf bytes, and the filter refuses it naming StringValue", async () => {
    const yaml = formsYaml([{ name: "main", filters: wasmEntry({ filter: "rh", config: {} }) }]).replace(
      `"@type": type.googleapis.com/google.protobuf.StringValue
                  value: "{}"`,
      `"@type": type.googleapis.com/google.protobuf.Struct
                  value: { headers: { x-a: "1" } }`,
    );
    expect(yaml).toContain("google.protobuf.Struct");
    await expect(startGateway(yaml)).rejects.toThrow(/rh: the configuration arrived as protobuf bytes of a google.protobuf.Struct.*google.protobuf.StringValue/s);
  });

  it("JSON text that starts with newlines (the byte a Struct's first tag also is) still configures the filter", async () => {
    const yaml = formsYaml([{ name: "main", filters: wasmEntry({ filter: "rh", config: { headers: { "x-nl": "1" } } }) }]).replace('value: "{', 'value: "\\n\\n  {');
    expect(yaml).toContain('value: "\\n\\n  {');
    g = await startGateway(yaml);
    expect((await get(g.url)).headers.get("x-nl")).toBe("1");
  });

  it("an Any with no type (`configuration: {}`, Istio's WasmPlugin without pluginConfig) is an empty configuration", async () => {
    const yaml = formsYaml([{ name: "main", filters: wasmEntry({ filter: "rh", config: {} }) }]).replace(
      `configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: "{}"`,
      "configuration: {}",
    );
    // response-headers refuses an empty configuration with its own message: the bytes were empty.
    await expect(startGateway(yaml)).rejects.toThrow("configuration field 'headers' is required");
  });
});

describe("analytics plugin_id", () => {
  it("is the stream's own plugin name when two ai-proxy filters share a VM", async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "c1", object: "chat.completion", model: "gpt-4o", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
    });
    const cfg = (name: string) => ({
      route_type: "llm/v1/chat",
      auth: { header_name: "Authorization", header_value: "Bearer k" },
      model: { provider: "openai", name, options: { upstream_url: `http://127.0.0.1:${up!.port}/v1/chat/completions` } },
      logging: { log_statistics: true },
    });
    const enable = (f: string) => `
                typed_per_filter_config:
                  ${f}:
                    "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                    config: {}`;
    const route = (prefix: string, f: string) => `
              - match: { prefix: "${prefix}" }
                route: { cluster: upstream }${enable(f)}`;
    const ai = filter("ai-proxy");
    let yaml = formsYaml(
      [
        {
          name: "main",
          filters: wasmEntry({ filter: "ai-proxy-openai", rootId: "ai-proxy", vmId: "ai-proxy", code: ai, disabled: true, config: cfg("gpt-4o") }) + wasmEntry({ filter: "ai-proxy-mistral", rootId: "ai-proxy", vmId: "ai-proxy", code: ai, disabled: true, config: cfg("gpt-4o-mini") }),
          routes: route("/openai/", "ai-proxy-openai") + route("/mistral/", "ai-proxy-mistral") + `
              - match: { prefix: "/" }
                route: { cluster: upstream }`,
        },
      ],
      { upstream: up.port },
    );
    const logFile = join(mkdtempSync(join(tmpdir(), "aigw-pid-")), "access.log");
    yaml = yaml.replace(
      "          http_filters:",
      `          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${JSON.stringify(logFile)}
              log_format: { json_format: { ai: "%FILTER_STATE(wasm.ai.log:PLAIN)%" } }
          http_filters:`,
    );
    g = await startGateway(yaml);
    for (const p of ["/openai/", "/mistral/", "/openai/"]) {
      const r = await fetch(`${g.url}${p}v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "x" }] }) });
      expect(r.status).toBe(200);
      await r.text();
    }
    const lines = () => (existsSync(logFile) ? readFileSync(logFile, "utf8").split("\n").filter((l) => l.trim()) : []);
    await until(() => lines().length === 3);
    const ids = lines().map((l) => (JSON.parse((JSON.parse(l) as { ai: string }).ai) as { proxy: { meta: { plugin_id: string } } }).proxy.meta.plugin_id);
    expect(ids).toEqual(["ai-proxy-openai", "ai-proxy-mistral", "ai-proxy-openai"]);
  });
});
