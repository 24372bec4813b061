// The Istio manifests (envoy/istio/*.yaml and the Istio resources in examples/*/*.yaml) against Istio's CRD schemas (@kubernetes-models/istio validates with the
// OpenAPI schema of each CRD), one WasmPlugin per filter, and the ai-metrics stats_tags kept
// the same as envoy/envoy.yaml's. New filters and manifests are picked up from the folders.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as istio from "@kubernetes-models/istio";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { istioManifests, wasmPlugins, type WasmPluginSpec } from "./support/istio.ts";
import { modelsOf } from "./support/k8s-models.ts";

const ROOT = resolve(import.meta.dirname, "..");
/** Filters that are not meant for deployment: the benchmark's no-op. */
const NOT_DEPLOYED = new Set(["noop"]);

const MODELS = modelsOf(istio);
const manifests = istioManifests();

describe("Istio manifests", () => {
  it.each(manifests.map((m) => [`${m.file}: ${m.doc.kind} ${m.doc.metadata?.name}`, m] as const))("%s is valid against its CRD schema", (_, m) => {
    const Model = MODELS.get(`${m.doc.apiVersion}/${m.doc.kind}`);
    expect(Model, `no Istio CRD for ${m.doc.apiVersion} ${m.doc.kind}`).toBeDefined();
    expect(() => new Model!(m.doc).validate()).not.toThrow();
  });

  it("the schema check refuses a wrong manifest", () => {
    const m = wasmPlugins()[0];
    const Model = MODELS.get(`${m.doc.apiVersion}/${m.doc.kind}`)!;
    expect(() => new Model({ ...m.doc, spec: { ...m.doc.spec, phase: "LAST" } }).validate()).toThrow(/phase/);
    expect(() => new Model({ ...m.doc, spec: { ...m.doc.spec, failStrategy: "FAIL_SOMETIMES" } }).validate()).toThrow(/failStrategy/);
  });

  const filters = readdirSync(join(ROOT, "filters")).filter((f) => existsSync(join(ROOT, "filters", f, "index.ts")) && !NOT_DEPLOYED.has(f));
  it.each(filters)("filter %s is deployable on Istio: a WasmPlugin of its own, or an EnvoyFilter that inserts it", (name) => {
    const mine = wasmPlugins().filter((m) => (m.doc.spec as unknown as WasmPluginSpec).pluginName === name);
    // A filter Istio's WasmPlugin cannot place (ai-proxy-advanced also runs in the cluster's
    // upstream filter chain) ships an EnvoyFilter whose Wasm filter is named after it.
    const envoyFilter = manifests.some((m) => m.doc.kind === "EnvoyFilter" && JSON.stringify(m.doc.spec).includes(`"name":"${name}"`));
    expect(mine.length === 1 || (mine.length === 0 && envoyFilter), `neither envoy/istio/ nor examples/*/*.yaml has a WasmPlugin with pluginName ${name} (or an EnvoyFilter inserting it)`).toBe(true);
    if (mine.length === 0) return;
    const spec = mine[0].doc.spec as unknown as WasmPluginSpec;
    expect(spec.url).toMatch(new RegExp(`^oci://.+/${name}:`));
    // A deliberate choice, never Istio's default by omission.
    expect(["FAIL_OPEN", "FAIL_CLOSE"]).toContain(spec.failStrategy);
  });

  it("the ai-metrics EnvoyFilter gives the gateway the stats_tags and buckets of envoy/envoy.yaml", () => {
    const envoy = parse(readFileSync(join(ROOT, "envoy/envoy.yaml"), "utf8")) as { stats_config: Record<string, unknown> };
    const filter = manifests.find((m) => m.doc.kind === "EnvoyFilter" && m.file === "envoy/istio/ai-metrics.yaml")!;
    const patches = (filter.doc.spec as { configPatches: { applyTo: string; patch: { operation: string; value: { stats_config: Record<string, unknown> } } }[] }).configPatches;
    expect(patches[0].applyTo).toBe("BOOTSTRAP");
    expect(patches[0].patch.operation).toBe("MERGE");
    expect(patches[0].patch.value.stats_config.stats_tags).toEqual(envoy.stats_config.stats_tags);
    expect(patches[0].patch.value.stats_config.histogram_bucket_settings).toEqual(envoy.stats_config.histogram_bucket_settings);
  });
});
