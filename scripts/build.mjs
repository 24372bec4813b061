#!/usr/bin/env node
// Builds every filter to build/<name>.wasm and every test filter to build/test/<name>.wasm
// with the AssemblyScript compiler API and asconfig.json (wasi-shim, incremental runtime,
// json-as transform). A module is skipped when its output is newer than every .ts it could
// depend on (lib/, its own folder) and than asconfig.json and package-lock.json.
// Usage: node scripts/build.mjs [name ...]   (names of filters or test filters; default all)

import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PARALLEL = 2; // the machines this builds on have 2 cores

/** Each module to build: its entry, output and the folder it owns. */
function modules() {
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

/** Newest mtime of every .ts under a folder. */
function newestTs(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestTs(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function mtime(p) {
  return existsSync(p) ? statSync(p).mtimeMs : 0;
}

function upToDate(m, sharedNewest) {
  if (!existsSync(m.output)) return false;
  return mtime(m.output) > Math.max(sharedNewest, newestTs(m.dir));
}

function fmtSize(n) {
  return n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/** Compiles one module in a worker thread: a fresh compiler and transform state per module, and real parallelism. */
function compile(m) {
  mkdirSync(dirname(m.output), { recursive: true });
  const started = performance.now();
  return new Promise((done) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { entry: relative(ROOT, m.entry), output: relative(ROOT, m.output) } });
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
async function compileInWorker({ entry, output }) {
  const { default: asc } = await import("assemblyscript/asc");
  // asc resolves "extends" in asconfig.json wrongly for an absolute --config path: pass it relative to ROOT (the cwd).
  const { error, stderr } = await asc.main([entry, "--config", "asconfig.json", "--outFile", output], {});
  parentPort.postMessage({ error: error ? error.message : null, stderr: stderr.toString() });
}

async function main() {
  process.chdir(ROOT);
  const wanted = process.argv.slice(2);
  let all = modules();
  if (wanted.length) {
    const unknown = wanted.filter((w) => !all.some((m) => m.name === w));
    if (unknown.length) {
      console.error(`unknown module(s): ${unknown.join(", ")} (known: ${all.map((m) => m.name).join(", ")})`);
      process.exit(2);
    }
    all = all.filter((m) => wanted.includes(m.name));
  }
  const sharedNewest = Math.max(newestTs(join(ROOT, "lib")), mtime(join(ROOT, "asconfig.json")), mtime(join(ROOT, "package-lock.json")));
  const todo = [];
  for (const m of all) {
    if (upToDate(m, sharedNewest)) console.log(`up to date  ${relative(ROOT, m.output)}  ${fmtSize(statSync(m.output).size)}`);
    else todo.push(m);
  }
  if (!todo.length) return;
  let failed = false;
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const m = todo[next++];
      const r = await compile(m);
      if (r.ok) console.log(r.message);
      else {
        failed = true;
        console.error(r.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, todo.length) }, worker));
  if (failed) process.exit(1);
}

const run = isMainThread ? main() : compileInWorker(workerData);
run.catch((e) => {
  console.error(e instanceof Error ? e.stack : e);
  process.exit(1);
});
