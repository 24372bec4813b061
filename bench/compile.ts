// Compile cost of one module (BENCH_MODULE, default ai-proxy) per optimisation setting: the CPU
// time of one asc run in a fresh process each (wall time on a shared machine mostly measures
// the other processes), with asc's own phase timings and the output size. Run it alone:
// BENCH_ONLY=compile npm run bench (each row costs 3–25 s of CPU). Pair it with
// BENCH_ONLY=ai-proxy-wasm AI_PROXY_WASM=<row's output> for the run-time side.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { printTable, type Row } from "./table.ts";

const ROOT = resolve(import.meta.dirname, "..");

// One asc run; prints {"cpu_s", "optimize_s"} (optimize: asc's wall time for the phase).
const RUN_ONE = `
import asc from "assemblyscript/asc";
const [entry, out, ...flags] = process.argv.slice(1);
const c0 = process.cpuUsage();
const { error, stats } = await asc.main([entry, "--config", "asconfig.json", "--outFile", out, ...flags], {});
if (error) { console.error(error.message); process.exit(1); }
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ cpu_s: (c.user + c.system) / 1e6, optimize_s: Number(stats.optimizeTime) / 1e9 }));
`;

const SETTINGS: [string, string[]][] = [
  ["asconfig.json as is", []],
  ["-O0 (no optimisation: parse + compile only)", ["--optimizeLevel", "0", "--shrinkLevel", "0"]],
  ["-O3 --shrinkLevel 1", ["--optimizeLevel", "3", "--shrinkLevel", "1"]],
  ["-O2 --shrinkLevel 0", ["--optimizeLevel", "2", "--shrinkLevel", "0"]],
  ["-O3 --shrinkLevel 1 --converge", ["--optimizeLevel", "3", "--shrinkLevel", "1", "--converge"]],
];

export function benchCompile(): void {
  const name = process.env.BENCH_MODULE ?? "ai-proxy";
  const rows: Row[] = [];
  for (const [label, flags] of SETTINGS) {
    const out = join(tmpdir(), `bench-compile-${name}-${rows.length}.wasm`);
    const r = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", RUN_ONE, `filters/${name}/index.ts`, out, ...flags], { cwd: ROOT, encoding: "utf8" })) as { cpu_s: number; optimize_s: number };
    rows.push({ setting: label, "CPU s": r.cpu_s, "optimize phase, wall s": r.optimize_s, "size KiB": statSync(out).size / 1024, output: out });
  }
  printTable(`compile cost of filters/${name} per optimisation setting (CPU time of one asc run)`, rows);
}
