// Config forms users meet in Envoy's docs and sandboxes, Istio and Higress output, each run
// through the gateway with a request whose response shows the right plugin ran.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseBootstrap } from "../host/envoy/bootstrap.ts";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { formsYaml, get, RESPONSE_HEADERS, wasmEntry } from "./support/wasm-forms.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { proxyModule } from "./support/wat.ts";

let g: RunningGateway | null = null;
let up: TestUpstream | null = null;
afterEach(async () => {
  await g?.close();
  g = null;
  await up?.close();
  up = null;
});

const stamp = (value: string) => wasmEntry({ filter: "stamp", config: { headers: { "x-stamp": value } } });

describe("enum values in any case (MessageUtil::loadFromJson sets case_insensitive_enum_parsing, source/common/protobuf/yaml_utility.cc)", () => {
  it("runs a config written with lower-case enums, as Envoy's examples/wasm-cc/envoy.yaml is", async () => {
    up = await startUpstream();
    const yaml = formsYaml([{ name: "main", filters: stamp("lower"), routes: `
              - match: { prefix: "/" }
                route: { cluster: upstream }` }], { upstream: up.port })
      .replace("stat_prefix: main", "stat_prefix: main\n          codec_type: auto")
      .replace("    connect_timeout: 1s", "    connect_timeout: 1s\n    type: strict_dns\n    lb_policy: round_robin\n    dns_lookup_family: v4_only");
    g = await startGateway(yaml);
    const r = await get(g.url, "/x");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-stamp")).toBe("lower");
    expect(() => parseBootstrap(yaml.replace("type: strict_dns", "type: strictdns"), "/x.yaml")).toThrow('unsupported value "strictdns"');
    // Protobuf JSON takes an enum's number too: STRICT_DNS is 1, ROUND_ROBIN 0.
    const numbered = parseBootstrap(yaml.replace("type: strict_dns", "type: 1").replace("lb_policy: round_robin", "lb_policy: 0"), "/x.yaml");
    expect(numbered.clusters.get("upstream")).toBeDefined();
    expect(() => parseBootstrap(yaml.replace("type: strict_dns", "type: 7"), "/x.yaml")).toThrow("clusters[0].type: unsupported value 7");
  });
});

describe("typed_config as a TypedStruct (Higress, older Istio): translateOpaqueConfig, source/common/config/utility.cc", () => {
  for (const type of ["udpa.type.v1.TypedStruct", "xds.type.v3.TypedStruct"]) {
    it(`runs the Wasm filter wrapped in ${type}`, async () => {
      const yaml = formsYaml([
        {
          name: "main",
          filters: `
          - name: stamp
            typed_config:
              "@type": type.googleapis.com/${type}
              type_url: type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              value:
                config:
                  name: stamp
                  configuration:
                    "@type": type.googleapis.com/google.protobuf.StringValue
                    value: '{"headers":{"x-stamp":"typed-struct"}}'
                  vm_config:
                    runtime: envoy.wasm.runtime.v8
                    code: { local: { filename: ${JSON.stringify(RESPONSE_HEADERS)} } }`,
        },
      ]);
      g = await startGateway(yaml);
      expect((await get(g.url)).headers.get("x-stamp")).toBe("typed-struct");
    });
  }
});

/**
 * A tiny proxy-wasm module whose every byte is ASCII (so it survives as a YAML/JSON string for
 * inline_string): adds `x-inline: yes` to responses. Small offsets and sizes keep each LEB128
 * byte below 0x80.
 */
function asciiModule(): Uint8Array {
  return proxyModule(
    `(import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (data (i32.const 0) "x-inlineyes")
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) (i32.const 0) (i32.const 8) (i32.const 8) (i32.const 3)))
    i32.const 0)`,
    { heap: 32 },
  );
}

const codeLine = `code: { local: { filename: ${JSON.stringify(RESPONSE_HEADERS)} } }`;

describe("vm_config.code (source/extensions/common/wasm/wasm.cc: createWasm)", () => {
  it("runs code given as local.inline_bytes (base64)", async () => {
    const b64 = readFileSync(RESPONSE_HEADERS).toString("base64");
    g = await startGateway(formsYaml([{ name: "main", filters: stamp("inline-bytes").replace(codeLine, `code: { local: { inline_bytes: "${b64}" } }`) }]));
    expect((await get(g.url)).headers.get("x-stamp")).toBe("inline-bytes");
  });

  it("runs code given as local.inline_string (the string's bytes)", async () => {
    const mod = asciiModule();
    expect(mod.every((b) => b < 0x80)).toBe(true);
    const text = JSON.stringify(String.fromCharCode(...mod));
    g = await startGateway(formsYaml([{ name: "main", filters: stamp("unused").replace(codeLine, `code: { local: { inline_string: ${text} } }`) }]));
    expect((await get(g.url)).headers.get("x-inline")).toBe("yes");
  });

  // RemoteDataFetcher (source/common/config/remote_data_fetcher.cc): GET through the cluster, 200
  // with a body whose hex sha256 matches, else "data is invalid"; createWasm then has no code and
  // the plugin fails to load (PluginConfig: "Plugin <name> failed to load"), failing closed.
  const remote = (sha: string | null) => `code:
                    remote:
                      http_uri: { uri: "http://wasm.example/filters/rh.wasm", cluster: wasm_server, timeout: 5s }${sha === null ? "" : `
                      sha256: "${sha}"`}
                      retry_policy: { num_retries: 0 }`;

  it("fetches code.remote through the named cluster and checks its sha256", async () => {
    const bytes = readFileSync(RESPONSE_HEADERS);
    up = await startUpstream((req, res) => {
      res.writeHead(req.path === "/filters/rh.wasm" ? 200 : 404);
      res.end(req.path === "/filters/rh.wasm" ? bytes : "");
    });
    const sha = createHash("sha256").update(bytes).digest("hex");
    g = await startGateway(formsYaml([{ name: "main", filters: stamp("remote").replace(codeLine, remote(sha)) }], { wasm_server: up.port }));
    expect(up.received.map((r) => [r.method, r.path, r.headers.host])).toEqual([["GET", "/filters/rh.wasm", "wasm.example"]]);
    expect((await get(g.url)).headers.get("x-stamp")).toBe("remote");
  });

  it("refuses remote code whose sha256 does not match: the plugin fails to load and streams fail closed (or skip it failing open)", async () => {
    up = await startUpstream((_req, res) => {
      res.writeHead(200);
      res.end(readFileSync(RESPONSE_HEADERS));
    });
    const wrong = "0".repeat(64);
    g = await startGateway(formsYaml([{ name: "main", filters: stamp("remote").replace(codeLine, remote(wrong)) }], { wasm_server: up.port }));
    const r = await get(g.url);
    expect(r.status).toBe(503);
    expect(r.headers.get("x-stamp")).toBeNull();
    expect(g.logs.map((l) => l.message)).toEqual(expect.arrayContaining([expect.stringContaining(`data is invalid (sha256 `), "Plugin stamp failed to load"]));
    await g.close();
    g = await startGateway(formsYaml([{ name: "main", filters: wasmEntry({ filter: "stamp", config: { headers: { "x-stamp": "remote" } }, more: "\n                failure_policy: FAIL_OPEN" }).replace(codeLine, remote(wrong)) }], { wasm_server: up.port }));
    const open = await get(g.url);
    expect(open.status).toBe(200);
    expect(open.headers.get("x-stamp")).toBeNull();
  });

  it("refuses remote code without sha256 or through an unknown cluster, naming the field", () => {
    const noSha = formsYaml([{ name: "main", filters: stamp("x").replace(codeLine, remote(null)) }], { wasm_server: 1 });
    expect(() => parseBootstrap(noSha, "/x.yaml")).toThrow("vm_config.code.remote.sha256");
    const noCluster = formsYaml([{ name: "main", filters: stamp("x").replace(codeLine, remote("ab")) }]);
    expect(() => parseBootstrap(noCluster, "/x.yaml")).toThrow('vm_config.code.remote.http_uri.cluster: unknown cluster "wasm_server"');
  });
});

/** Traps in on_request_headers when the request has x-trap; adds x-plugin: ran to responses. */
function trapModule(): string {
  const file = join(mkdtempSync(join(tmpdir(), "aigw-trap-")), "trap.wasm");
  writeFileSync(
    file,
    proxyModule(`(import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (data (i32.const 0) "x-trapx-pluginran")
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (if (i32.eqz (call $get (i32.const 0) (i32.const 0) (i32.const 6) (i32.const 64) (i32.const 68))) (then unreachable))
    i32.const 0)
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add (i32.const 2) (i32.const 6) (i32.const 8) (i32.const 14) (i32.const 3)))
    i32.const 0)`),
  );
  return file;
}

describe("failure_policy (PluginConfig in source/extensions/common/wasm/wasm.cc)", () => {
  const withPolicy = (code: string, more: string) => formsYaml([{ name: "main", filters: wasmEntry({ filter: "trap", code, more }) }]);

  it("FAIL_RELOAD with reload_config replaces a VM that failed at run time once the back-off has passed", async () => {
    const code = trapModule();
    g = await startGateway(withPolicy(code, "\n                failure_policy: fail_reload\n                reload_config: { backoff: { base_interval: 0.05s } }"));
    expect((await get(g.url)).headers.get("x-plugin")).toBe("ran");
    const before = g.gw.plugin("trap").vm(0);
    expect((await get(g.url, "/", { "x-trap": "1" })).status).toBe(503);
    expect(before.failState).toBe("runtime_error");
    // maybeReloadHandleIfNeeded: a stream after the back-off gets a fresh VM with the plugin configured.
    let last = await get(g.url);
    for (let i = 0; i < 60 && last.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
      last = await get(g.url);
    }
    expect(last.status).toBe(200);
    expect(last.headers.get("x-plugin")).toBe("ran");
    expect(g.gw.plugin("trap").vm(0)).not.toBe(before);
  });

  it("FAIL_CLOSED (the default) keeps answering 503 after the VM failed; FAIL_OPEN skips the filter", async () => {
    const code = trapModule();
    g = await startGateway(withPolicy(code, ""));
    expect((await get(g.url, "/", { "x-trap": "1" })).status).toBe(503);
    await new Promise((r) => setTimeout(r, 100));
    expect((await get(g.url)).status).toBe(503);
    await g.close();
    g = await startGateway(withPolicy(code, "\n                failure_policy: FAIL_OPEN"));
    expect((await get(g.url, "/", { "x-trap": "1" })).status).toBe(200);
    const r = await get(g.url);
    expect(r.status).toBe(200);
    expect(r.headers.get("x-plugin")).toBeNull(); // skipped
  });
});

describe("extension config discovery from a file (source/common/filter/config_discovery_impl.cc)", () => {
  const discovery = (file: string, typeUrl = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm") => `
          - name: stamp
            config_discovery:
              config_source:
                path_config_source: { path: ${JSON.stringify(file)} }
                resource_api_version: V3
              type_urls: ["${typeUrl}"]`;
  const response = (name: string, value = "ecds") => `version_info: "1"
resources:
- "@type": type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig
  name: ${name}
  typed_config:
    "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
    config:
      name: stamp
      configuration:
        "@type": type.googleapis.com/google.protobuf.StringValue
        value: '{"headers":{"x-stamp":"${value}"}}'
      vm_config:
        runtime: envoy.wasm.runtime.v8
        code: { local: { filename: ${JSON.stringify(RESPONSE_HEADERS)} } }
`;
  const write = (text: string) => {
    const file = join(mkdtempSync(join(tmpdir(), "aigw-ecds-")), "stamp.yaml");
    writeFileSync(file, text);
    return file;
  };

  it("runs the filter config the file delivers", async () => {
    g = await startGateway(formsYaml([{ name: "main", filters: discovery(write(response("stamp"))) }]));
    expect((await get(g.url)).headers.get("x-stamp")).toBe("ecds");
  });

  // The filesystem subscription re-reads the file when a new one is moved into place; an
  // update Envoy would reject leaves the filter as it was.
  it("applies an update moved into place, and keeps the config when an update is rejected", async () => {
    const file = write(response("stamp"));
    g = await startGateway(formsYaml([{ name: "main", filters: discovery(file) }]));
    expect((await get(g.url)).headers.get("x-stamp")).toBe("ecds");
    const replace = (text: string) => {
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
    };
    replace(response("stamp", "ecds-2"));
    let stamp: string | null = null;
    for (let i = 0; i < 100 && stamp !== "ecds-2"; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await g.gw.discovery.settled();
      stamp = (await get(g.url)).headers.get("x-stamp");
    }
    expect(stamp).toBe("ecds-2");
    replace(response("other", "ecds-3"));
    for (let i = 0; i < 100 && !g.logs.some((l) => l.message.includes("update rejected")); i++) {
      await new Promise((r) => setTimeout(r, 20));
      await g.gw.discovery.settled();
    }
    expect(g.logs.map((l) => l.message)).toContainEqual(expect.stringContaining("Filesystem config update rejected for filter stamp: "));
    expect((await get(g.url)).headers.get("x-stamp")).toBe("ecds-2");
  });

  it("refuses a resource with another name or a type outside type_urls", () => {
    expect(() => parseBootstrap(formsYaml([{ name: "main", filters: discovery(write(response("other"))) }]), "/x.yaml")).toThrow('Unexpected resource name in ExtensionConfigDS response: other (the filter is "stamp")');
    expect(() => parseBootstrap(formsYaml([{ name: "main", filters: discovery(write(response("stamp")), "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router") }]), "/x.yaml")).toThrow(
      "filter config has type URL type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm but expect type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
    );
  });
});
