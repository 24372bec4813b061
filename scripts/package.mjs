#!/usr/bin/env node
// npm run package: one OCI image layout per filter under build/oci/<name>/, in the *oci*
// variant of the Wasm image specification that Istio's WasmPlugin pulls (solo-io/wasm
// spec/spec.md): a config blob of media type application/vnd.module.wasm.config.v1+json
// (runtime "envoy_proxy", the ABI, the root_id) and exactly one layer, the .wasm itself, of
// media type application/vnd.module.wasm.content.layer.v1+wasm. Written with plain files and
// sha256, no container engine; the tag is the package version. Push with skopeo, oras or crane
// (README.md, "Istio and Envoy Gateway").
// Usage: node scripts/package.mjs [name ...]   (default: every filters/<name>/; builds first)

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OCI_DIR = join(ROOT, "build", "oci");
export const WASM_CONFIG_MEDIA_TYPE = "application/vnd.module.wasm.config.v1+json";
export const WASM_LAYER_MEDIA_TYPE = "application/vnd.module.wasm.content.layer.v1+wasm";
const MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
const INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

/** Writes a blob into the layout and returns its descriptor. */
function blob(dir, mediaType, bytes, annotations) {
  const hex = createHash("sha256").update(bytes).digest("hex");
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  writeFileSync(join(dir, "blobs", "sha256", hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length, ...(annotations ? { annotations } : {}) };
}

/** The OCI image layout of one filter's build/<name>.wasm; returns the layout's folder. */
export function packageFilter(name) {
  const wasm = readFileSync(join(ROOT, "build", `${name}.wasm`));
  const dir = join(OCI_DIR, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const runtimeConfig = { type: "envoy_proxy", abi_version: "proxy_abi_version_0_2_1", config: { root_ids: [name] } };
  const config = blob(dir, WASM_CONFIG_MEDIA_TYPE, Buffer.from(JSON.stringify(runtimeConfig)), { "org.opencontainers.image.title": "runtime-config.json" });
  const layer = blob(dir, WASM_LAYER_MEDIA_TYPE, wasm, { "org.opencontainers.image.title": `${name}.wasm` });
  const manifest = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config,
    layers: [layer],
    annotations: {
      "org.opencontainers.image.title": name,
      "org.opencontainers.image.description": `${name}: a proxy-wasm filter of ${pkg.name} (Envoy, Istio WasmPlugin, Envoy Gateway)`,
      "org.opencontainers.image.version": pkg.version,
      "org.opencontainers.image.licenses": pkg.license,
    },
  };
  const m = blob(dir, MANIFEST_MEDIA_TYPE, Buffer.from(JSON.stringify(manifest)), { "org.opencontainers.image.ref.name": pkg.version });
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: INDEX_MEDIA_TYPE, manifests: [m] }));
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return dir;
}

/** Every filter folder (filters/<name>/index.ts). */
export function filterNames() {
  return readdirSync(join(ROOT, "filters")).filter((n) => existsSync(join(ROOT, "filters", n, "index.ts"))).sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const names = process.argv.length > 2 ? process.argv.slice(2) : filterNames();
  execFileSync(process.execPath, [join(ROOT, "scripts", "build.mjs"), ...names], { cwd: ROOT, stdio: "inherit" });
  for (const n of names) console.log(`packaged    ${relative(ROOT, packageFilter(n))}  (oci:${relative(ROOT, join(OCI_DIR, n))}:${pkg.version})`);
}
