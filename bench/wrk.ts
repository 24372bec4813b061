// wrk (Debian package `wrk`, installed by `scripts/install-test-servers.sh --bench`) as the load
// generator. A C event loop costs a few microseconds per request, against tens for a Node
// client, so the numbers are the target's own rather than the target's plus the client's.
// wrk is a closed loop like runLoad's Node generator: each connection sends its next request as
// soon as the previous answer has been read.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface WrkRun {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
  connections: number;
  /** Whole seconds: wrk's -d takes no finer unit. */
  seconds: number;
  timeoutSeconds: number;
}

export interface WrkResult {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  /** Socket errors, timeouts and answers with a status outside 2xx/3xx. */
  errors: number;
}

/** The wrk version ("4.1.0") when the binary is on PATH, else null. */
export function wrkVersion(): string | null {
  try {
    // `wrk -v` prints its banner and exits 1.
    execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const out = String((e as { stdout?: string }).stdout ?? "");
    const m = /^wrk (?:debian\/)?(\d[^\s-]*)/m.exec(out);
    if (m) return m[1]!;
  }
  return null;
}

/** A Lua string literal. Printable ASCII only: LuaJIT's escapes are not JSON's. */
function lua(s: string): string {
  if (!/^[\x20-\x7e]*$/.test(s)) throw new Error(`wrk: ${JSON.stringify(s)} is not printable ASCII`);
  return JSON.stringify(s);
}

/** The request (body read byte for byte from its own file) and a `done` hook that prints the numbers as one JSON line (microseconds). */
function script(run: WrkRun, bodyFile: string): string {
  const lines = [`wrk.method = ${lua(run.method)}`, `local f = assert(io.open(${lua(bodyFile)}, "rb"))`, "wrk.body = f:read(\"*a\")", "f:close()"];
  for (const [k, v] of Object.entries(run.headers)) lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
  lines.push(
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format("WRK {\\"requests\\":%d,\\"durationUs\\":%d,\\"p50Us\\":%d,\\"p99Us\\":%d,\\"errors\\":%d}\\n",',
    "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),",
    "    e.connect + e.read + e.write + e.status + e.timeout))",
    "end",
  );
  return lines.join("\n") + "\n";
}

export function runWrk(run: WrkRun): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), "aigw-wrk-"));
  const file = join(dir, "request.lua");
  const bodyFile = join(dir, "body");
  writeFileSync(bodyFile, run.body ?? "");
  writeFileSync(file, script(run, bodyFile));
  // One wrk thread: the gateway under test is one event loop, and the machine has two cores.
  const args = ["-t1", `-c${run.connections}`, `-d${run.seconds}s`, `--timeout`, `${run.timeoutSeconds}s`, "-s", file, run.url];
  return new Promise<WrkResult>((resolve, reject) => {
    execFile("wrk", args, { encoding: "utf8", timeout: (run.seconds + run.timeoutSeconds + 10) * 1000 }, (err, stdout, stderr) => {
      rmSync(dir, { recursive: true, force: true });
      const m = /^WRK (\{.*\})$/m.exec(stdout);
      if (err || !m) return reject(new Error(`wrk ${args.join(" ")} failed: ${err?.message ?? ""} ${stderr}${stdout}`));
      resolve(JSON.parse(m[1]!) as WrkResult);
    });
  });
}
