// npm run package: one OCI image layout per filter, in the oci variant of the Wasm image spec
// (solo-io/wasm spec/spec.md: config application/vnd.module.wasm.config.v1+json, one layer
// application/vnd.module.wasm.content.layer.v1+wasm that is the .wasm itself). Checked with
// Debian's skopeo: it reads each layout, and `skopeo copy` verifies every blob's digest while it
// copies, so the layer it writes out must be the very bytes of build/<name>.wasm.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { filterNames, OCI_DIR, packageFilter, WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE } from "../scripts/package.mjs";
import { needing } from "./support/test-programs.ts";

const ROOT = resolve(import.meta.dirname, "..");
const SKOPEO = "/usr/bin/skopeo";
const run = promisify(execFile);
const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const names = filterNames();
const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

const skopeo = needing(SKOPEO, "OCI layouts checked with skopeo");

describe.skipIf(skopeo.missing)(skopeo.title, () => {
  beforeAll(async () => {
    await run(process.execPath, [join(ROOT, "scripts/build.mjs"), ...names], { cwd: ROOT });
    for (const n of names) packageFilter(n);
  }, 900_000);

  it.each(names)("%s: one wasm layer, the .wasm itself, and the Wasm runtime config", async (name) => {
    const ref = `oci:${join(OCI_DIR, name)}:${version}`;
    const manifest = JSON.parse((await run(SKOPEO, ["inspect", "--raw", ref])).stdout) as { mediaType: string; config: Descriptor; layers: Descriptor[] };
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(manifest.config.mediaType).toBe(WASM_CONFIG_MEDIA_TYPE);
    expect(manifest.layers).toHaveLength(1);
    const wasm = readFileSync(join(ROOT, "build", `${name}.wasm`));
    expect(manifest.layers[0]).toMatchObject({ mediaType: WASM_LAYER_MEDIA_TYPE, digest: sha256(wasm), size: wasm.length });

    const config = JSON.parse((await run(SKOPEO, ["inspect", "--config", "--raw", ref])).stdout) as { type: string; config: { root_ids: string[] } };
    expect(config.type).toBe("envoy_proxy");
    expect(config.config.root_ids).toEqual([name]);

    // skopeo copy checks each blob against its digest; the dir: transport writes blobs by digest.
    const out = mkdtempSync(join(tmpdir(), `oci-${name}-`));
    await run(SKOPEO, ["copy", "--quiet", ref, `dir:${out}`]);
    expect(sha256(readFileSync(join(out, manifest.layers[0].digest.slice("sha256:".length))))).toBe(sha256(wasm));
  });

  it("skopeo refuses a layout whose layer does not match its digest", async () => {
    const name = names[0];
    const dir = mkdtempSync(join(tmpdir(), "oci-bad-"));
    await run("cp", ["-r", join(OCI_DIR, name), dir]);
    const layout = join(dir, name);
    const manifest = JSON.parse((await run(SKOPEO, ["inspect", "--raw", `oci:${layout}:${version}`])).stdout) as { layers: Descriptor[] };
    const layerFile = join(layout, "blobs", "sha256", manifest.layers[0].digest.slice("sha256:".length));
    await run("sh", ["-c", `printf x >> '${layerFile}'`]);
    await expect(run(SKOPEO, ["copy", "--quiet", `oci:${layout}:${version}`, `dir:${mkdtempSync(join(tmpdir(), "oci-out-"))}`])).rejects.toThrow(/digest|size/i);
  });
});
