import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { fromBinary, toJson } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { EnvoyConfigError, loadBootstrap, parseBootstrap } from "../host/envoy/bootstrap.ts";
import { parseDurationMs } from "../host/envoy/duration.ts";
import type { Bootstrap, RouteAction, WasmFilterConfig } from "../host/envoy/bootstrap-types.ts";

const FIXTURE = "test/fixtures/envoy/gateway.yaml";
const fixtureText = readFileSync(FIXTURE, "utf8");
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

// The YAML document is edited freely in each test, so it is untyped on purpose.
type Doc = Record<string, any>;

/** The fixture, edited by `edit`, through the loader. */
function load(edit: (d: Doc) => void): Bootstrap {
  const doc = YAML.parse(fixtureText) as Doc;
  edit(doc);
  return parseBootstrap(YAML.stringify(doc), "/virtual/envoy.yaml");
}
const hcmOf = (d: Doc, i = 0): Doc => d.static_resources.listeners[i].filter_chains[0].filters[0].typed_config;
const HCM = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";

function refusal(edit: (d: Doc) => void): EnvoyConfigError {
  try {
    load(edit);
  } catch (e) {
    if (e instanceof EnvoyConfigError) return e;
    throw e;
  }
  throw new Error("the loader accepted the config");
}

beforeEach(() => {
  process.env.AIGW_TEST_HOST_KEY = "from-host";
  delete process.env.AIGW_TEST_UNSET_KEY;
});
afterEach(() => {
  delete process.env.AIGW_TEST_HOST_KEY;
});

describe("loadBootstrap: the accepted subset", () => {
  it("reads listeners, the connection manager, timeouts and the buffer limit", () => {
    const b = loadBootstrap(FIXTURE);
    expect(b.source).toBe(resolve(FIXTURE));
    expect(b.admin).toEqual({ address: { address: "127.0.0.1", port: 9901 } });
    expect(b.listeners).toHaveLength(1);
    const l = b.listeners[0]!;
    expect(l.name).toBe("ai_gateway");
    expect(l.address).toEqual({ address: "0.0.0.0", port: 10000 });
    expect(l.hcm.statPrefix).toBe("ingress_http");
    expect(l.hcm.bufferLimitBytes).toBe(2097152);
    expect(l.hcm.streamIdleTimeoutMs).toBe(1500);
    expect(l.hcm.requestTimeoutMs).toBe(250);
    expect(l.hcm.httpFilters.map((f) => [f.kind, f.name])).toEqual([
      ["wasm", "ai_guard"],
      ["wasm", "ai_proxy"],
      ["router", "envoy.filters.http.router"],
    ]);
  });

  // MessageUtil::anyToBytes (source/common/protobuf/utility.cc; in older Envoy
  // source/extensions/common/wasm/wasm.cc): StringValue/BytesValue unwrapped, anything else the
  // Any's serialized value. A Struct is protobuf bytes, checked here with a protobuf library.
  it("unwraps StringValue and BytesValue and hands a Struct over as its protobuf bytes", () => {
    const b = loadBootstrap(FIXTURE);
    const [guard, proxy] = b.listeners[0]!.hcm.httpFilters as WasmFilterConfig[];
    expect(decode(guard!.plugin.configuration)).toBe('{"deny_patterns":["secret"]}');
    expect(decode(guard!.plugin.vmConfiguration)).toBe("hello");
    const struct = fromBinary(StructSchema, proxy!.plugin.configuration);
    expect(toJson(StructSchema, struct)).toEqual({
      route_type: "llm/v1/chat",
      model: { provider: "openai", name: "gpt-4.1", options: { max_tokens: 512 } },
      auth: { header_name: "Authorization" },
    });
    expect(proxy!.plugin.configuration[0]).toBe(0x0a); // field 1 (fields), length-delimited: not JSON
    expect(proxy!.plugin.vmConfiguration).toHaveLength(0);
  });

  // parseYamlNode (source/common/protobuf/yaml_utility.cc) builds the Struct: null, bools,
  // numbers (an integer beyond int32 as its decimal string), strings, lists, nested mappings.
  it("serializes every Struct value kind, in key order", () => {
    const value = { z: null, a: [true, false, 1.5, "s", { n: -2 }], big: 4294967296, empty: {} };
    const b = load((d) => void (hcmOf(d).http_filters[1].typed_config.config.configuration = { "@type": "type.googleapis.com/google.protobuf.Struct", value }));
    const bytes = (b.listeners[0]!.hcm.httpFilters[1] as WasmFilterConfig).plugin.configuration;
    expect(toJson(StructSchema, fromBinary(StructSchema, bytes))).toEqual({ ...value, big: "4294967296" });
    // Map entries on the wire in key order: each entry's key field is 0x0a, length, key.
    const text = Buffer.from(bytes).toString("latin1");
    const at = ["a", "big", "empty", "z"].map((k) => text.indexOf(`\x0a${String.fromCharCode(k.length)}${k}`));
    expect(at.every((x) => x >= 0)).toBe(true);
    expect(at).toEqual([...at].sort((x, y) => x - y));
  });

  it("gives an empty configuration for an Any with no type, and refuses one with fields but no type", () => {
    const b = load((d) => void (hcmOf(d).http_filters[1].typed_config.config.configuration = {}));
    expect((b.listeners[0]!.hcm.httpFilters[1] as WasmFilterConfig).plugin.configuration).toHaveLength(0);
    const e = refusal((d) => void (hcmOf(d).http_filters[1].typed_config.config.configuration = { value: "x" }));
    expect(e.path).toBe(`${HCM}.http_filters[1].typed_config.config.configuration["@type"]`);
  });

  it("reads the plugin and VM settings with Envoy's defaults", () => {
    const b = loadBootstrap(FIXTURE);
    const [guard, proxy] = (b.listeners[0]!.hcm.httpFilters as WasmFilterConfig[]).map((f) => f.plugin);
    expect(guard).toMatchObject({ name: "ai_guard", rootId: "ai_guard", vmId: "ai_gateway", runtime: "envoy.wasm.runtime.v8", failOpen: true, allowOnHeadersStopIteration: false });
    // Relative filenames resolve against the working directory, as Envoy does.
    expect(guard!.codeFile).toBe(resolve(process.cwd(), "test/fixtures/envoy/plugin.wasm"));
    // key_values plus the host keys that are set; an unset host key is skipped.
    expect(guard!.environment).toEqual({ AIGW_TEST_HOST_KEY: "from-host", MODE: "strict" });
    expect(proxy).toMatchObject({ failOpen: false, allowOnHeadersStopIteration: true, runtime: "envoy.wasm.runtime.v8" });
  });

  it("reads routes, defaults the route timeout to 15 s and merges per-filter config (route over virtual host)", () => {
    const b = loadBootstrap(FIXTURE);
    const rc = b.listeners[0]!.hcm.routeConfig;
    expect(rc.name).toBe("local_route");
    expect(rc.ignorePortInHostMatching).toBe(false);
    const [health, openai, fallback] = rc.virtualHosts[0]!.routes;
    expect(health!.action).toEqual({ kind: "direct", status: 200, body: "ok" });
    expect(health!.match).toEqual({ path: "/healthz", caseSensitive: true, headers: [] });
    expect(openai!.match.headers).toEqual([{ name: "x-provider", exact: "openai", invert: false }]);
    expect(openai!.action).toEqual({ kind: "route", cluster: "openai", prefixRewrite: "/v1/", hostRewriteLiteral: "api.openai.com", timeoutMs: 60000, idleTimeoutMs: 0 });
    expect((fallback!.action as RouteAction).timeoutMs).toBe(15000);
    expect(openai!.perFilterConfig.get("ai_guard")).toEqual({ disabled: false });
    expect(fallback!.perFilterConfig.get("ai_guard")).toEqual({ disabled: true });
  });

  it("reads clusters: DNS and static endpoints, TLS with SNI, HTTP/2 options, connect timeout default", () => {
    const b = loadBootstrap(FIXTURE);
    expect([...b.clusters.keys()]).toEqual(["openai", "mock_llm"]);
    expect(b.clusters.get("openai")).toEqual({
      name: "openai",
      connectTimeoutMs: 10000,
      endpoints: [{ address: "api.openai.com", port: 443 }],
      tls: { sni: "api.openai.com", caFile: null },
      http2: true,
      autoSni: false,
    });
    expect(b.clusters.get("mock_llm")).toEqual({
      name: "mock_llm",
      connectTimeoutMs: 5000,
      endpoints: [
        { address: "127.0.0.1", port: 8081 },
        { address: "127.0.0.1", port: 8082 },
      ],
      tls: null,
      http2: false,
      autoSni: false,
    });
  });

  it("reads auto_sni from the cluster's HttpProtocolOptions and refuses override_auto_sni_header", () => {
    const opts = (d: Doc): Doc => d.static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
    const b = load((d) => void (opts(d).upstream_http_protocol_options = { auto_sni: true }));
    expect(b.clusters.get("openai")!.autoSni).toBe(true);
    expect(refusal((d) => void (opts(d).upstream_http_protocol_options = { auto_sni: true, override_auto_sni_header: ":authority" })).message).toBe(
      `static_resources.clusters[0].typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].upstream_http_protocol_options.override_auto_sni_header: field not supported by the local gateway`,
    );
  });

  it("reads access logs and stats_config", () => {
    const b = loadBootstrap(FIXTURE);
    expect(b.listeners[0]!.hcm.accessLogs).toEqual([
      { path: "/dev/stdout", jsonFormat: { status: "%RESPONSE_CODE%", model: "%FILTER_STATE(wasm.ai.model:PLAIN)%" }, textFormat: null },
      { path: "/tmp/aigw-access.log", jsonFormat: null, textFormat: "%REQ(:PATH)% %RESPONSE_CODE%\n" },
    ]);
    expect(b.stats.useAllDefaultTags).toBe(true);
    expect(b.stats.tagSpecifiers).toEqual([
      { tagName: "ai_provider", regex: String.raw`(;\.;ai_provider=\.=(.*?);\.;)` },
      { tagName: "ai_model", regex: String.raw`(;\.;ai_model=\.=(.*?);\.;)` },
      { tagName: "gateway", fixedValue: "local" },
    ]);
    // Envoy sorts the buckets.
    expect(b.stats.histogramBucketSettings).toEqual([{ match: { prefix: "wasmcustom.ai_llm_latency", ignoreCase: false }, buckets: [100, 1000, 10000] }]);
    expect(b.stats.histogramBuckets).toEqual([100, 1000, 10000]);
  });

  it("applies defaults when optional sections are absent", () => {
    const b = load((d) => {
      delete d.admin;
      delete d.stats_config;
      const h = hcmOf(d);
      delete h.stream_idle_timeout;
      delete h.request_timeout;
      delete d.static_resources.listeners[0].per_connection_buffer_limit_bytes;
    });
    expect(b.admin).toBeNull();
    expect(b.stats).toEqual({ tagSpecifiers: [], useAllDefaultTags: true, histogramBuckets: null, histogramBucketSettings: [] });
    expect(b.listeners[0]!.hcm).toMatchObject({ streamIdleTimeoutMs: 300000, requestTimeoutMs: 0, bufferLimitBytes: 1048576 });
  });

  it("treats the deprecated exact_match '' and a matcher without a pattern as presence tests", () => {
    const b = load((d) => {
      hcmOf(d).route_config.virtual_hosts[0].routes[1].match.headers = [{ name: "X-A", exact_match: "" }, { name: "x-b" }, { name: "x-c", present_match: false, invert_match: true }];
    });
    expect(b.listeners[0]!.hcm.routeConfig.virtualHosts[0]!.routes[1]!.match.headers).toEqual([
      { name: "x-a", present: true, invert: false },
      { name: "x-b", present: true, invert: false },
      { name: "x-c", present: false, invert: true },
    ]);
  });
});

describe("loadBootstrap: refusals name the field", () => {
  it("refuses a runtime other than V8", () => {
    const e = refusal((d) => {
      hcmOf(d).http_filters[0].typed_config.config.vm_config.runtime = "envoy.wasm.runtime.wamr";
    });
    expect(e.message).toBe(`${HCM}.http_filters[0].typed_config.config.vm_config.runtime: unsupported value "envoy.wasm.runtime.wamr"`);
    expect(e.path).toBe(`${HCM}.http_filters[0].typed_config.config.vm_config.runtime`);
  });

  it("refuses a load-balancing policy the gateway does not run", () => {
    const e = refusal((d) => {
      d.static_resources.clusters[1].lb_policy = "LEAST_REQUEST";
    });
    expect(e.message).toBe('static_resources.clusters[1].lb_policy: unsupported value "LEAST_REQUEST"');
  });

  it("refuses a typo as an unknown field and an Envoy field outside the subset as unsupported", () => {
    // A name near a field that was read is suggested; a name near none is only unknown.
    expect(refusal((d) => void (hcmOf(d).stat_prefx = "x")).message).toBe(`${HCM}.stat_prefx: unknown field (did you mean 'stat_prefix'?)`);
    expect(refusal((d) => void (hcmOf(d).frobnicate = "x")).message).toBe(`${HCM}.frobnicate: unknown field`);
    expect(refusal((d) => void (hcmOf(d).server_name = "x")).message).toBe(`${HCM}.server_name: field not supported by the local gateway`);
    expect(refusal((d) => void (d.static_resources.clusters[0].health_checks = [])).message).toBe(
      "static_resources.clusters[0].health_checks: field not supported by the local gateway",
    );
    expect(refusal((d) => void (d.overload_manager = { refresh_interval: "1s" })).message).toBe("overload_manager: field not supported by the local gateway");
  });

  it("refuses HTTP filters other than Wasm and the router, naming the filter", () => {
    const e = refusal((d) => {
      hcmOf(d).http_filters.splice(1, 0, { name: "cors", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors" } });
    });
    expect(e.path).toBe(`${HCM}.http_filters[1].typed_config["@type"]`);
    expect(e.message).toContain('HTTP filter "cors": unsupported type "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"');
  });

  it("requires the router, last", () => {
    expect(refusal((d) => void hcmOf(d).http_filters.pop()).message).toContain(`${HCM}.http_filters: the router (envoy.filters.http.router) must be present and last`);
    const e = refusal((d) => {
      const f = hcmOf(d).http_filters;
      f.unshift(f.pop());
    });
    expect(e.message).toContain("must be the last filter in a http filter chain");
    expect(e.path).toBe(`${HCM}.http_filters[0]`);
  });

  it("refuses a missing wasm file with its resolved path", () => {
    const e = refusal((d) => {
      hcmOf(d).http_filters[1].typed_config.config.vm_config.code.local.filename = "build/nope.wasm";
    });
    expect(e.path).toBe(`${HCM}.http_filters[1].typed_config.config.vm_config.code.local.filename`);
    expect(e.message).toContain(`file not found: ${resolve(process.cwd(), "build/nope.wasm")}`);
  });

  it("refuses a route to an unknown cluster, unless validate_clusters is false", () => {
    const e = refusal((d) => void (hcmOf(d).route_config.virtual_hosts[0].routes[2].route.cluster = "anthropic"));
    expect(e.message).toBe(`${HCM}.route_config.virtual_hosts[0].routes[2].route.cluster: unknown cluster "anthropic"`);
    const b = load((d) => {
      hcmOf(d).route_config.validate_clusters = false;
      hcmOf(d).route_config.virtual_hosts[0].routes[2].route.cluster = "anthropic";
    });
    expect((b.listeners[0]!.hcm.routeConfig.virtualHosts[0]!.routes[2]!.action as RouteAction).cluster).toBe("anthropic");
  });

  // PerFilterConfigs (source/common/router/per_filter_config.cc) keeps configs by name and never
  // looks at the filter chain: a key naming no filter is accepted. We warn.
  it("accepts a typed_per_filter_config key that names no HTTP filter, with a warning", () => {
    const b = load((d) => {
      hcmOf(d).route_config.virtual_hosts[0].routes[1].typed_per_filter_config.ai_gaurd = hcmOf(d).route_config.virtual_hosts[0].routes[1].typed_per_filter_config.ai_guard;
    });
    expect(b.warnings).toEqual([expect.stringContaining(`${HCM}.route_config.virtual_hosts[0].routes[1].typed_per_filter_config: "ai_gaurd" names no HTTP filter`)]);
  });

  it("refuses duplicate listener names and addresses", () => {
    const dupName = refusal((d) => {
      const copy = structuredClone(d.static_resources.listeners[0]);
      copy.address.socket_address.port_value = 10001;
      d.static_resources.listeners.push(copy);
    });
    expect(dupName.message).toContain('static_resources.listeners[1].name: duplicate listener name "ai_gateway"');
    const dupPort = refusal((d) => {
      const copy = structuredClone(d.static_resources.listeners[0]);
      copy.name = "second";
      d.static_resources.listeners.push(copy);
    });
    expect(dupPort.message).toContain("static_resources.listeners[1].address: duplicate address 0.0.0.0:10000");
    const adminClash = refusal((d) => void (d.admin.address.socket_address = { address: "0.0.0.0", port_value: 10000 }));
    expect(adminClash.message).toContain("duplicate address 0.0.0.0:10000 (also admin.address)");
  });

  it("refuses malformed durations and a zero connect timeout", () => {
    expect(refusal((d) => void (hcmOf(d).stream_idle_timeout = 5)).message).toBe(`${HCM}.stream_idle_timeout: invalid duration 5 (expected e.g. "5s")`);
    expect(refusal((d) => void (hcmOf(d).stream_idle_timeout = "5m")).message).toContain("invalid duration");
    expect(refusal((d) => void (d.static_resources.clusters[0].connect_timeout = "0s")).message).toBe(
      "static_resources.clusters[0].connect_timeout: must be greater than 0s",
    );
  });

  it("refuses stats_tags Envoy would refuse", () => {
    expect(refusal((d) => void (d.stats_config.stats_tags[0].regex = "(unclosed")).path).toBe("stats_config.stats_tags[0].regex");
    expect(refusal((d) => void d.stats_config.stats_tags.push({ tag_name: "nope" })).message).toBe(
      "stats_config.stats_tags[3].regex: No regex specified for tag specifier and no default regex for name: 'nope'",
    );
    // A default tag name without a regex takes the default extractor.
    expect(load((d) => void d.stats_config.stats_tags.push({ tag_name: "envoy.cluster_name" })).stats.tagSpecifiers[3]).toEqual({ tagName: "envoy.cluster_name" });
  });

  it("refuses configuration types it cannot hand to the plugin as Envoy would", () => {
    const e = refusal((d) => {
      hcmOf(d).http_filters[0].typed_config.config.configuration = { "@type": "type.googleapis.com/google.protobuf.Int32Value", value: 3 };
    });
    expect(e.path).toBe(`${HCM}.http_filters[0].typed_config.config.configuration["@type"]`);
    expect(refusal((d) => void (hcmOf(d).http_filters[0].typed_config.config.vm_config.configuration.value = "a$b")).message).toContain("invalid base64");
  });

  it("refuses a duplicated environment variable key", () => {
    const e = refusal((d) => void (hcmOf(d).http_filters[0].typed_config.config.vm_config.environment_variables.key_values.AIGW_TEST_HOST_KEY = "x"));
    expect(e.message).toContain("Key AIGW_TEST_HOST_KEY is duplicated in envoy.extensions.wasm.v3.VmConfig.environment_variables");
  });

  it("refuses a host name in a STATIC cluster and two endpoints in a LOGICAL_DNS cluster", () => {
    expect(refusal((d) => void (d.static_resources.clusters[1].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address = "localhost")).message).toContain(
      "malformed IP address: localhost",
    );
    const e = refusal((d) => {
      const eps = d.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints;
      eps.push(structuredClone(eps[0]));
    });
    expect(e.message).toContain("LOGICAL_DNS clusters must have a single locality_lb_endpoint and a single lb_endpoint");
  });

  it("refuses runtime overrides, fail_open with failure_policy, duplicate domains and out-of-range statuses", () => {
    expect(refusal((d) => void d.layered_runtime.layers.push({ name: "static", static_layer: { "envoy.reloadable_features.x": false } })).message).toContain(
      "runtime overrides are not supported by the local gateway",
    );
    // PluginConfig's constructor (source/extensions/common/wasm/wasm.cc) throws on both.
    expect(refusal((d) => void (hcmOf(d).http_filters[0].typed_config.config.fail_open = true)).message).toBe(
      `${HCM}.http_filters[0].typed_config.config.failure_policy: only one of fail_open or failure_policy can be set`,
    );
    expect(refusal((d) => void hcmOf(d).route_config.virtual_hosts.push({ name: "two", domains: ["*"], routes: [] })).message).toContain(
      "Only a single wildcard domain is permitted in route local_route",
    );
    expect(refusal((d) => void (hcmOf(d).route_config.virtual_hosts[0].routes[0].direct_response.status = 700)).message).toContain("must be in 200..599");
  });

  it("refuses YAML with duplicate keys and routes with two actions", () => {
    expect(() => parseBootstrap("admin: {}\nadmin: {}\n", "/x.yaml")).toThrow(EnvoyConfigError);
    const e = refusal((d) => void (hcmOf(d).route_config.virtual_hosts[0].routes[0].route = { cluster: "openai" }));
    expect(e.message).toBe(`${HCM}.route_config.virtual_hosts[0].routes[0]: exactly one of route and direct_response is required`);
  });
});

describe("parseDurationMs", () => {
  it("reads protobuf JSON durations and truncates to whole milliseconds like Envoy", () => {
    expect(parseDurationMs("5s", "t")).toBe(5000);
    expect(parseDurationMs("0.25s", "t")).toBe(250);
    expect(parseDurationMs("1.5s", "t")).toBe(1500);
    expect(parseDurationMs("0.0005s", "t")).toBe(0);
    expect(parseDurationMs({ seconds: 2, nanos: 500_000_000 }, "t")).toBe(2500);
    expect(() => parseDurationMs("-1s", "t")).toThrow("negative");
    expect(() => parseDurationMs("1.0000000001s", "t")).toThrow("invalid duration");
  });
});
