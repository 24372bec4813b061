// The host and CLI (host/**/*.ts) compiled to one JavaScript file, build/aigw.mjs, with esbuild
// (a runtime dependency, so `npm ci --omit=dev` keeps a working aigw). Node then starts it
// without a TypeScript loader. Up to date by a hash of the sources and esbuild's version;
// rebuilt when stale, which takes esbuild a fraction of a second.
// Packages (yaml, undici) stay imports, resolved from node_modules as before.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), "..");
// One level under the root, as host/cli.ts is, so the CLI's "../package.json" resolves the same.
export const HOST_BUNDLE = join(ROOT, "build", "aigw.mjs");
const STAMP = join(ROOT, "build", ".inputs", "aigw.sha256");

function sources(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out.sort();
}

function inputsHash() {
  const h = createHash("sha256");
  h.update(readFileSync(join(ROOT, "node_modules", "esbuild", "package.json")));
  h.update(readFileSync(SELF));
  for (const f of sources(join(ROOT, "host"))) h.update(`${relative(ROOT, f)}\n`).update(readFileSync(f));
  return h.digest("hex");
}

/** The path of an up-to-date build/aigw.mjs, building it first when the sources changed. */
export async function hostBundle() {
  const hash = inputsHash();
  if (existsSync(HOST_BUNDLE) && existsSync(STAMP) && readFileSync(STAMP, "utf8") === hash) return HOST_BUNDLE;
  const { build } = await import("esbuild");
  const tmp = `${HOST_BUNDLE}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(ROOT, "host", "cli.ts")],
    outfile: tmp,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "warning",
  });
  // Rename: a concurrent start never imports a half-written file.
  renameSync(tmp, HOST_BUNDLE);
  mkdirSync(dirname(STAMP), { recursive: true });
  writeFileSync(STAMP, hash);
  return HOST_BUNDLE;
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  mkdirSync(dirname(HOST_BUNDLE), { recursive: true });
  console.log(`host        ${relative(ROOT, await hostBundle())}`);
}
