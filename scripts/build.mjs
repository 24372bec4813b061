#!/usr/bin/env node
// Builds filters to build/<name>.wasm and test filters to build/test/<name>.wasm with the
// AssemblyScript compiler API and asconfig.json (wasi-shim, minimal runtime, json-as
// transform), one worker thread per core.
//
// A module is up to date when the hash of its inputs matches the one recorded at its last
// build: every .ts in lib/ and in its own folder, asconfig.json (and the config it extends),
// the versions of the compiler and of each transform. Content, not mtime:
// `npm install` rewrites package-lock.json and a fresh clone has new mtimes, and neither
// changes what the compiler sees.
//
// Usage: node scripts/build.mjs [name ...]            modules by name (default: all, and the host: build-host.mjs)
//        node scripts/build.mjs --for-config FILE     only the modules an Envoy config loads
//                                                     (its code.local.filename entries)
//        node scripts/build.mjs --names [name ...]    the same modules with the wasm names section
//                                                     (asc --debug) to build/names/, for V8's
//                                                     profiler (bench/profile.ts)

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { hostBundle } from "./build-host.mjs";

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), "..");

/** Each module to build: its entry, output and the folder it owns. */
export function modules() {
  const out = [];
  for (const [srcDir, outDir] of [
    ["filters", "build"],
    ["test/filters", "build/test"],
  ]) {
    const base = join(ROOT, srcDir);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const entry = join(base, name, "index.ts");
      if (existsSync(entry)) out.push({ name, dir: join(base, name), entry, output: join(ROOT, outDir, `${name}.wasm`) });
    }
  }
  return out;
}

/** Every .ts under a folder, sorted, as paths relative to ROOT. */
function tsFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(relative(ROOT, p));
  }
  return out.sort();
}

function dirBytes(dir) {
  return tsFiles(dir).reduce((n, f) => n + statSync(join(ROOT, f)).size, 0);
}

function packageVersion(name) {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
}

/** What every module's build depends on besides its own folder: lib/, the compiler config, tool versions. */
function sharedInputs() {
  const h = createHash("sha256");
  const asconfig = JSON.parse(readFileSync(join(ROOT, "asconfig.json"), "utf8"));
  h.update(readFileSync(join(ROOT, "asconfig.json")));
  if (asconfig.extends) h.update(readFileSync(join(ROOT, asconfig.extends)));
  for (const pkg of ["assemblyscript", "@assemblyscript/wasi-shim", ...(asconfig.options?.transform ?? [])]) h.update(`${pkg}@${packageVersion(pkg)}\n`);
  for (const f of tsFiles(join(ROOT, "lib"))) h.update(`${f}\n`).update(readFileSync(join(ROOT, f)));
  return h.digest("hex");
}

function inputsHash(m, shared) {
  const h = createHash("sha256").update(shared);
  for (const f of tsFiles(m.dir)) h.update(`${f}\n`).update(readFileSync(join(ROOT, f)));
  return h.digest("hex");
}

/** Where a module's input hash is recorded (beside its output, in a hidden folder). */
function stampFile(m) {
  return join(dirname(m.output), ".inputs", `${m.name}.sha256`);
}

function upToDate(m, hash) {
  return existsSync(m.output) && existsSync(stampFile(m)) && readFileSync(stampFile(m), "utf8") === hash;
}

/** The .wasm files an Envoy config loads: every string under a `filename` key ending in .wasm. */
function wasmFilesOf(configPath) {
  const found = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k === "filename" && typeof x === "string" && x.endsWith(".wasm")) found.add(resolve(ROOT, x));
        else walk(x);
      }
    }
  };
  return import("yaml").then(({ parse }) => {
    walk(parse(readFileSync(configPath, "utf8")));
    return found;
  });
}

function fmtSize(n) {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/** Compiles one module in a worker thread: a fresh compiler and transform state per module, and real parallelism. */
function compile(m) {
  mkdirSync(dirname(m.output), { recursive: true });
  const started = performance.now();
  return new Promise((done) => {
    const w = new Worker(SELF, { workerData: { entry: relative(ROOT, m.entry), output: relative(ROOT, m.output), names: m.names === true } });
    let reply = null;
    w.on("message", (r) => (reply = r));
    w.on("error", (e) => (reply = { error: e instanceof Error ? (e.stack ?? e.message) : String(e), stderr: "" }));
    w.on("exit", () => {
      const ms = Math.round(performance.now() - started);
      if (!reply || reply.error) done({ ok: false, message: `${m.name}: ${reply?.error ?? "compiler exited without a result"}\n${reply?.stderr ?? ""}` });
      else done({ ok: true, message: `built       ${relative(ROOT, m.output)}  ${fmtSize(statSync(m.output).size)}  ${ms} ms` });
    });
  });
}

/** Worker side: one asc run. */
async function compileInWorker({ entry, output, names }) {
  const { default: asc } = await import("assemblyscript/asc");
  // asc resolves "extends" in asconfig.json wrongly for an absolute --config path: pass it relative to ROOT (the cwd).
  // --debug keeps function names (the names section) and changes nothing else the optimiser does.
  const { error, stderr } = await asc.main([entry, "--config", "asconfig.json", "--outFile", output, ...(names ? ["--debug"] : [])], {});
  parentPort.postMessage({ error: error ? error.message : null, stderr: stderr.toString() });
}

async function main() {
  process.chdir(ROOT);
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { "for-config": { type: "string" }, names: { type: "boolean" } } });
  let all = modules();
  if (values.names) for (const m of all) (m.output = join(ROOT, "build", "names", m.output.slice(join(ROOT, "build").length + 1))), (m.names = true);
  if (values["for-config"]) {
    const files = await wasmFilesOf(resolve(values["for-config"]));
    all = all.filter((m) => files.has(m.output));
  }
  if (positionals.length) {
    const unknown = positionals.filter((w) => !all.some((m) => m.name === w));
    if (unknown.length) {
      console.error(`unknown module(s): ${unknown.join(", ")} (known: ${all.map((m) => m.name).join(", ")})`);
      process.exit(2);
    }
    all = all.filter((m) => positionals.includes(m.name));
  }
  // The whole build also compiles the host and CLI to build/aigw.mjs (aigw would on its first start).
  if (!positionals.length && !values["for-config"] && !values.names) console.log(`host        ${relative(ROOT, await hostBundle())}`);
  const shared = sharedInputs();
  const todo = [];
  for (const m of all) {
    m.hash = inputsHash(m, shared);
    if (upToDate(m, m.hash)) console.log(`up to date  ${relative(ROOT, m.output)}  ${fmtSize(statSync(m.output).size)}`);
    else todo.push(m);
  }
  if (!todo.length) return;
  // Longest first: ai-proxy alone takes as long as several small modules together.
  todo.sort((a, b) => dirBytes(b.dir) - dirBytes(a.dir));
  let failed = false;
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const m = todo[next++];
      const r = await compile(m);
      if (r.ok) {
        mkdirSync(dirname(stampFile(m)), { recursive: true });
        writeFileSync(stampFile(m), m.hash);
        console.log(r.message);
      } else {
        failed = true;
        console.error(r.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(availableParallelism(), todo.length) }, worker));
  if (failed) process.exit(1);
}

if (isMainThread && process.argv[1] && resolve(process.argv[1]) === SELF) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack : e);
    process.exit(1);
  });
} else if (!isMainThread) {
  compileInWorker(workerData).catch((e) => {
    parentPort.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e), stderr: "" });
  });
}
