// The Istio manifests (envoy/istio/, and Istio resources in examples/*/*.yaml), and the Envoy Wasm filter istiod makes of a WasmPlugin.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

const ROOT = resolve(import.meta.dirname, "../..");
export const ISTIO_DIR = join(ROOT, "envoy/istio");

export interface Manifest {
  /** Path from the repository root. */
  file: string;
  doc: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec: Record<string, unknown> };
}

function read(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), "utf8")).map((d) => {
    if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
    return { file, doc: d.toJS() as Manifest["doc"] };
  });
}

/** The packaged manifests, envoy/istio/*.yaml: one gateway's chain. */
export function packagedManifests(): Manifest[] {
  return readdirSync(ISTIO_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((f) => read(`envoy/istio/${f}`));
}

/** Every Istio manifest: envoy/istio/*.yaml and each Istio resource in an example's YAML (new filters' are picked up as they land). */
export function istioManifests(): Manifest[] {
  const examples = readdirSync(join(ROOT, "examples"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => readdirSync(join(ROOT, "examples", e.name)).filter((f) => f.endsWith(".yaml")).map((f) => `examples/${e.name}/${f}`))
    .sort();
  const isIstio = (m: Manifest) => typeof m.doc?.apiVersion === "string" && m.doc.apiVersion.includes("istio.io/");
  return [...packagedManifests(), ...examples.flatMap(read).filter(isIstio)];
}

export interface WasmPluginSpec {
  url: string;
  pluginName?: string;
  phase?: string;
  priority?: number;
  failStrategy?: string;
  imagePullPolicy?: string;
  pluginConfig?: Record<string, unknown>;
  vmConfig?: { env?: { name: string; value?: string; valueFrom?: "INLINE" | "HOST" }[] };
}

export const wasmPlugins = (from: Manifest[] = istioManifests()) => from.filter((m) => m.doc.kind === "WasmPlugin");

// Istio's phases in filter-chain order (istio/istio pilot/pkg/networking/core/listener_builder.go,
// buildHTTPConnectionManager, calls extension.PopAppendHTTP phase by phase: it
// inserts AUTHN plugins before authn filters, AUTHZ before RBAC, STATS before stats, and
// UNSPECIFIED_PHASE last, before the router); within a phase, descending priority.
const PHASES = ["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"];

export function istioOrder(plugins: Manifest[]): Manifest[] {
  const spec = (m: Manifest) => m.doc.spec as unknown as WasmPluginSpec;
  return [...plugins].sort((a, b) => PHASES.indexOf(spec(a).phase ?? "UNSPECIFIED_PHASE") - PHASES.indexOf(spec(b).phase ?? "UNSPECIFIED_PHASE") || (spec(b).priority ?? 0) - (spec(a).priority ?? 0));
}

/**
 * The envoy.extensions.filters.http.wasm.v3.Wasm config istiod builds for a WasmPlugin
 * (istio/istio pilot/pkg/model/extensions.go, buildPluginConfig and buildVMConfig): name
 * "<namespace>.<name>", root_id = pluginName, the pluginConfig Struct marshalled to JSON in a
 * StringValue, runtime v8 and no vm_id, the pull policy and resource version as VM environment
 * variables, vmConfig.env INLINE as key_values and HOST as host_env_keys, and failStrategy as
 * failure_policy (Istio 1.25+). The OCI url becomes a remote data source that istio-agent pulls
 * and rewrites to a local file before Envoy sees it: `localFile` plays the agent's part.
 */
export function istiodWasmConfig(m: Manifest, localFile: string): Record<string, unknown> {
  const s = m.doc.spec as unknown as WasmPluginSpec;
  const keyValues: Record<string, string> = {};
  if (s.imagePullPolicy && s.imagePullPolicy !== "UNSPECIFIED_POLICY") keyValues.ISTIO_META_WASM_IMAGE_PULL_POLICY = s.imagePullPolicy;
  keyValues.ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION = "1";
  const hostEnvKeys: string[] = [];
  for (const e of s.vmConfig?.env ?? []) {
    if ((e.valueFrom ?? "INLINE") === "INLINE") keyValues[e.name] = e.value ?? "";
    else hostEnvKeys.push(e.name);
  }
  const policy = { FAIL_OPEN: "FAIL_OPEN", FAIL_CLOSE: "FAIL_CLOSED" }[s.failStrategy ?? "FAIL_CLOSE"];
  const config: Record<string, unknown> = {
    name: `${m.doc.metadata.namespace ?? "default"}.${m.doc.metadata.name}`,
    root_id: s.pluginName ?? "",
    vm_config: {
      runtime: "envoy.wasm.runtime.v8",
      code: { local: { filename: localFile } },
      environment_variables: { key_values: keyValues, ...(hostEnvKeys.length ? { host_env_keys: hostEnvKeys } : {}) },
    },
    ...(policy ? { failure_policy: policy } : {}),
  };
  // An empty pluginConfig leaves configuration unset (an empty Any).
  if (s.pluginConfig && Object.keys(s.pluginConfig).length) config.configuration = { "@type": "type.googleapis.com/google.protobuf.StringValue", value: JSON.stringify(s.pluginConfig) };
  return { "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", config };
}
