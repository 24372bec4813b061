// Benchmarked servers run in their own processes, so the load generator does not share their
// event loop: the echo upstream and the local gateway (`aigw run`).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");

/**
 * Node flags for the harness's own processes (load generator, upstreams, simulator): the same
 * V8 setting aigw runs with (see bin/aigw.mjs), so that a harness process slowed by V8's
 * pretenuring does not add its own cost to every target's round trip.
 */
export const HARNESS_NODE_FLAGS = ["--no-allocation-site-pretenuring"];

export interface Proc {
  port: number;
  stop(): Promise<void>;
  /** The process id (CPU accounting: cpuSeconds). */
  pid?: number;
}

/** CPU time (user + system, every thread) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ, 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function waitFor(child: ChildProcess, pattern: RegExp, stream: "stdout" | "stderr"): Promise<number> {
  return new Promise((res, rej) => {
    let out = "";
    const timer = setTimeout(() => rej(new Error(`timed out waiting for ${pattern}: ${out}`)), 30_000);
    child[stream]!.on("data", (c: Buffer) => {
      out += c;
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        res(Number(m[1]));
      }
    });
    child.on("exit", (code) => rej(new Error(`exited with ${code}: ${out}`)));
  });
}

const stopper = (child: ChildProcess) => () =>
  new Promise<void>((res) => {
    if (child.exitCode !== null) return res();
    child.once("exit", () => res());
    child.kill("SIGTERM");
  });

export async function startEchoProcess(): Promise<Proc> {
  const child = spawn(process.execPath, [...HARNESS_NODE_FLAGS, "--import", "tsx", join(ROOT, "bench/upstream-main.ts")], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await waitFor(child, /listening on (\d+)/, "stdout");
  return { port, stop: stopper(child) };
}

/** The OpenAI simulator (bench/simulator-main.ts), answering at full speed. */
export async function startSimulatorProcess(): Promise<Proc> {
  const child = spawn(process.execPath, [...HARNESS_NODE_FLAGS, "--import", "tsx", join(ROOT, "bench/simulator-main.ts")], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await waitFor(child, /listening on (\d+)/, "stdout");
  return { port, stop: stopper(child) };
}

/** `aigw run` on `yaml` with --concurrency worker threads; the listener must be named "bench". */
export async function startGatewayProcess(yaml: string, concurrency = 1): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), "aigw-bench-"));
  const file = join(dir, "envoy.yaml");
  writeFileSync(file, yaml);
  const child = spawn(process.execPath, [join(ROOT, "bin/aigw.mjs"), "run", "--config", file, "--concurrency", String(concurrency), "--log-level", "error"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const port = await waitFor(child, /bench on :(\d+)/, "stderr");
  return { port, stop: stopper(child), pid: child.pid };
}
