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
  /** The server's process id (to read its RSS), when it runs in a process of its own. */
  pid?: number;
  stop(): Promise<void>;
}

/** Resident set size of a process in bytes (Linux /proc), or null when it cannot be read. */
export function rssOf(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
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

/** A harness script (bench/*-main.ts) in a process of its own, once it prints "listening on PORT". */
async function startHarnessProcess(script: string, args: string[] = []): Promise<Proc> {
  const child = spawn(process.execPath, [...HARNESS_NODE_FLAGS, "--import", "tsx", join(ROOT, "bench", script), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await waitFor(child, /listening on (\d+)/, "stdout");
  return { port, pid: child.pid, stop: stopper(child) };
}

export function startEchoProcess(): Promise<Proc> {
  return startHarnessProcess("upstream-main.ts");
}

/** The OpenAI simulator (bench/simulator-main.ts), answering at full speed. */
export function startSimulatorProcess(): Promise<Proc> {
  return startHarnessProcess("simulator-main.ts");
}

/** The smallest Node reverse proxy in front of `upstreamPort` (bench/node-floor-main.ts). */
export function startNodeFloorProcess(upstreamPort: number): Promise<Proc> {
  return startHarnessProcess("node-floor-main.ts", [String(upstreamPort)]);
}

export interface GatewayProcessOptions {
  /** Extra environment (e.g. the keys a shipped config reads through host_env_keys). */
  env?: Record<string, string>;
  /** Extra node flags before the script (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

/** A process's CPU time so far (every thread, µs) and how often the kernel preempted it (Linux /proc). */
export interface ProcUsage {
  userUs: number;
  systemUs: number;
  involuntarySwitches: number;
}

export function usageOf(pid: number): ProcUsage | null {
  try {
    // Fields after the command name (which may hold spaces, hence the last ')'): utime is the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cs = /^nonvoluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { userUs: (Number(f[11]) * 1e6) / CLOCK_TICKS, systemUs: (Number(f[12]) * 1e6) / CLOCK_TICKS, involuntarySwitches: Number(cs?.[1] ?? 0) };
  } catch {
    return null;
  }
}

/** CPU time (user + system, every thread) a process has used, in µs, or null. */
export function cpuUsOf(pid: number): number | null {
  const u = usageOf(pid);
  return u === null ? null : u.userUs + u.systemUs;
}

/** CPU time (user + system, every thread) a process has used so far, in seconds. */
export function cpuSeconds(pid: number): number {
  return (cpuUsOf(pid) ?? 0) / 1e6;
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS = 100;

/** `aigw run` on `yaml`, with `--concurrency N`, or without the flag ("default": aigw's own default). */
export async function startGatewayProcess(yaml: string, concurrency: number | "default" = 1, opts: GatewayProcessOptions = {}): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), "aigw-bench-"));
  const file = join(dir, "envoy.yaml");
  writeFileSync(file, yaml);
  const args = ["run", "--config", file, ...(concurrency === "default" ? [] : ["--concurrency", String(concurrency)]), "--log-level", "error"];
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), join(ROOT, "bin/aigw.mjs"), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...opts.env },
  });
  const port = await waitFor(child, /bench on :(\d+)/, "stderr");
  return { port, pid: child.pid, stop: stopper(child) };
}
