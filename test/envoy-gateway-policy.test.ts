// envoy/envoy-gateway/*.yaml: the Gateway API resources against their CRD schemas
// (@kubernetes-models/gateway-api). Envoy Gateway's own CRDs have no models package, so the
// EnvoyExtensionPolicy is checked against the fields of Envoy Gateway's api/v1alpha1/wasm_types.go
// (Wasm, WasmCodeSource, ImageWasmCodeSource, WasmEnv), and its filters against the Istio
// WasmPlugins: the same filters, configs, order and failure choice, so the configs validated by
// test/istio-wasmplugin.test.ts on the local gateway are the ones Envoy Gateway gets.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import * as gatewayApi from "@kubernetes-models/gateway-api";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { istioOrder, wasmPlugins, type WasmPluginSpec } from "./support/istio.ts";
import { modelsOf } from "./support/k8s-models.ts";

const DIR = resolve(import.meta.dirname, "../envoy/envoy-gateway");

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

const docs: { file: string; doc: Doc }[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((file) => parseAllDocuments(readFileSync(join(DIR, file), "utf8")).map((d) => ({ file, doc: d.toJS() as Doc })));

const gatewayModels = modelsOf(gatewayApi);

/** Keys allowed per Envoy Gateway's wasm_types.go, and the required ones. */
function checkKeys(where: string, o: Record<string, unknown>, allowed: string[], required: string[]): void {
  for (const k of Object.keys(o)) expect(allowed, `${where}.${k} is not a field of Envoy Gateway's API`).toContain(k);
  for (const k of required) expect(o, `${where}.${k} is required`).toHaveProperty(k);
}

describe("Envoy Gateway example", () => {
  const gw = docs.filter((d) => d.doc.apiVersion.startsWith("gateway.networking.k8s.io/"));
  it.each(gw.map((d) => [`${d.file}: ${d.doc.kind} ${d.doc.metadata.name}`, d.doc] as const))("%s is valid against the Gateway API schema", (_, doc) => {
    const Model = gatewayModels.get(`${doc.apiVersion}/${doc.kind}`);
    expect(Model).toBeDefined();
    expect(() => new Model!(doc).validate()).not.toThrow();
  });

  const policies = docs.filter((d) => d.doc.kind === "EnvoyExtensionPolicy");
  it("has an EnvoyExtensionPolicy whose wasm entries use only Envoy Gateway's fields", () => {
    expect(policies).toHaveLength(1);
    const p = policies[0].doc;
    expect(p.apiVersion).toBe("gateway.envoyproxy.io/v1alpha1");
    const wasm = p.spec.wasm as Record<string, unknown>[];
    wasm.forEach((w, i) => {
      checkKeys(`wasm[${i}]`, w, ["name", "rootID", "code", "config", "failOpen", "env"], ["code"]);
      const code = w.code as Record<string, unknown>;
      checkKeys(`wasm[${i}].code`, code, ["type", "http", "image", "sha256", "pullPolicy"], ["type"]);
      expect(code.type).toBe("Image");
      checkKeys(`wasm[${i}].code.image`, code.image as Record<string, unknown>, ["url", "pullSecretRef"], ["url"]);
      expect((code.image as { url: string }).url).not.toMatch(/^oci:\/\//); // registry/image:tag
      expect(["IfNotPresent", "Always"]).toContain(code.pullPolicy);
      if (w.env) checkKeys(`wasm[${i}].env`, w.env as Record<string, unknown>, ["hostKeys"], []);
    });
  });

  it("runs the AI WasmPlugins' filters, in their order, with their configs and failure choice", () => {
    const wasm = policies[0].doc.spec.wasm as { rootID: string; config: unknown; failOpen: boolean; code: { image: { url: string } } }[];
    const istio = istioOrder(wasmPlugins())
      .map((m) => m.doc.spec as unknown as WasmPluginSpec)
      .filter((s) => wasm.some((w) => w.rootID === s.pluginName));
    expect(wasm.map((w) => w.rootID)).toEqual(istio.map((s) => s.pluginName));
    wasm.forEach((w, i) => {
      expect(w.config).toEqual(istio[i].pluginConfig);
      expect(w.failOpen).toBe(istio[i].failStrategy === "FAIL_OPEN");
      expect(w.code.image.url).toContain(`/${w.rootID}:`);
    });
    expect(wasm.map((w) => w.rootID)).toEqual(["ai-prompt-template", "ai-prompt-decorator", "ai-prompt-guard", "ai-proxy", "ai-metrics"]);
  });
});
