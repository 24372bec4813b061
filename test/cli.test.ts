// aigw validate / aigw run, as a user runs them.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { writeFileSync, mkdtempSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { bootstrapYaml, filter } from "./support/gateway.ts";
import { formsYaml, wasmEntry } from "./support/wasm-forms.ts";
import { send } from "./support/client.ts";
import { until } from "./support/probe.ts";

const ROOT = resolve(import.meta.dirname, "..");
const AIGW = join(ROOT, "bin/aigw.mjs");

function aigw(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [AIGW, ...args], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as unknown as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "aigw-cli-"));
  const f = join(dir, "envoy.yaml");
  writeFileSync(f, text);
  return f;
}

describe("aigw validate", () => {
  it("accepts the shipped envoy.yaml", async () => {
    const r = await aigw(["validate", "--config", "envoy/envoy.yaml"]);
    expect(r.code).toBe(0);
    // Unset provider keys are warnings, never errors: the gateway starts and answers requests with the variable named.
    expect(r.stderr).not.toMatch(/\[(error|critical)\]/);
    expect(r.stdout).toMatch(/OK/);
  });

  // Plugins are counted as Envoy has them (one per distinct plugin), not by http filter name.
  it("counts two filters that share the name envoy.filters.http.wasm as two plugins", async () => {
    const text = formsYaml([
      {
        name: "main",
        filters:
          wasmEntry({ filter: "envoy.filters.http.wasm", plugin: "a", config: { headers: { "x-a": "1" } } }) +
          wasmEntry({ filter: "envoy.filters.http.wasm", plugin: "b", config: { headers: { "x-b": "1" } } }),
      },
    ]);
    const r = await aigw(["validate", "--config", yamlFile(text)]);
    expect(r.stdout).toContain("1 listener(s), 2 wasm plugin(s)");
  });

  it("names a bad field of the Envoy config and exits non-zero", async () => {
    const text = bootstrapYaml({ filters: [], clusters: { upstream: { port: 1 } } }).replace("connect_timeout: 1s", "connect_timeout: 1s\n    lb_polcy: ROUND_ROBIN");
    const r = await aigw(["validate", "--config", yamlFile(text)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("static_resources.clusters[0].lb_polcy");
  });

  it("names the bad field of a filter's configuration, from the filter's own on_configure", async () => {
    const text = bootstrapYaml({ filters: [{ name: "stamp", code: filter("response-headers"), config: { headers: { "x-a": 7 } } }], clusters: { upstream: { port: 1 } } });
    const r = await aigw(["validate", "--config", yamlFile(text)]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("on_configure returned false");
    expect(r.stderr).toContain("headers.x-a");
  });

  it("says that a misspelt required field is unknown, and suggests the near name", async () => {
    const text = bootstrapYaml({ filters: [], clusters: { upstream: { port: 1 } } }).replace("stat_prefix:", "stat_prefx:");
    const r = await aigw(["validate", "--config", yamlFile(text)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("stat_prefix: required field is missing; 'stat_prefx' is an unknown field here: did you mean 'stat_prefix'?");
  });

  it("suggests the near name for an unknown optional field", async () => {
    const text = bootstrapYaml({ filters: [], clusters: { upstream: { port: 1 } } }).replace("connect_timeout: 1s", "connect_timout: 1s");
    const r = await aigw(["validate", "--config", yamlFile(text)]);
    expect(r.stderr).toContain("connect_timout: unknown field (did you mean 'connect_timeout'?)");
  });

  it("prints a filter's configuration error once, without its name twice", async () => {
    const text = bootstrapYaml({ filters: [{ name: "metrics", code: filter("ai-metrics"), config: { ai_metrcs: true } }], clusters: { upstream: { port: 1 } } });
    const r = await aigw(["validate", "--config", yamlFile(text)]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("configuration field 'ai_metrcs' is unknown").length - 1).toBe(1);
    expect(r.stderr).toContain("wasm plugin 'metrics'");
    expect(r.stderr).not.toMatch(/ai-metrics: ai-metrics:/);
  });
});

describe("aigw usage", () => {
  it.each([{ args: ["--help"] }, { args: ["-h"] }, { args: ["run", "--help"] }, { args: ["validate", "--help"] }])("aigw $args describes every option and exits 0", async ({ args }) => {
    const r = await aigw(args);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: aigw/);
    if (args[0] === "run") for (const o of ["--config", "--concurrency", "--log-level", "--help"]) expect(r.stdout).toContain(o);
    if (args[0] === "validate") for (const o of ["--config", "--help"]) expect(r.stdout).toContain(o);
  });

  it("--version prints the package's version", async () => {
    const r = await aigw(["--version"]);
    expect(r.code).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(r.stdout.trim()).toBe(`wasm-ai-gateway ${pkg.version}`);
  });

  it("an unknown command says so and exits 2", async () => {
    const r = await aigw(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toMatch(/usage:/);
  });

  it.each(["run", "validate"])("%s without --config says so and exits 2", async (cmd) => {
    const r = await aigw([cmd]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("missing --config FILE");
  });

  it("an unknown option says so and exits 2", async () => {
    const r = await aigw(["validate", "--config", "envoy/envoy.yaml", "--frob"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--frob");
  });
});

/** Starts `aigw run` and resolves once it says it is serving, with what it printed so far. */
function startAigw(args: string[]): Promise<{ child: ChildProcess; stderr: string }> {
  const child = spawn(process.execPath, [AIGW, "run", ...args], { cwd: ROOT });
  return new Promise((res, rej) => {
    let err = "";
    child.stderr.on("data", (c: Buffer) => {
      err += c;
      if (err.includes("serving")) res({ child, stderr: err });
    });
    child.on("exit", () => rej(new Error(err)));
  });
}

describe("aigw run", () => {
  it("serves a config until it is stopped", async () => {
    expect(existsSync(filter("response-headers"))).toBe(true);
    const text = bootstrapYaml({
      filters: [{ name: "stamp", code: filter("response-headers"), config: { headers: { "x-served-by": "aigw" } } }],
      routes: [{ prefix: "/", direct: { status: 200, body: "up" } }],
    });
    const { child, stderr } = await startAigw(["--config", yamlFile(text)]);
    try {
      const port = Number(/main on :(\d+)/.exec(stderr)![1]);
      const r = await fetch(`http://127.0.0.1:${port}/`);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-served-by")).toBe("aigw");
      expect(await r.text()).toBe("up");
    } finally {
      child.kill("SIGTERM");
    }
  });

  // Worker threads (host/gateway/workers.ts): each accepts on the one socket; the admin sums
  // their counters; access-log lines from both threads reach the file and stdout whole.
  it("serves on worker threads: stats summed over the workers, access logs whole", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aigw-cli-"));
    const logFile = join(dir, "access.log");
    const text = bootstrapYaml({
      filters: [{ name: "stamp", code: filter("response-headers"), config: { headers: { "x-served-by": "aigw" } } }],
      routes: [{ prefix: "/", direct: { status: 200, body: "up" } }],
      accessLog: { path: logFile, json: { code: "%RESPONSE_CODE%", path: "%REQ(:PATH)%" } },
    }).replace(/(\n\s+)- name: envoy\.access_loggers\.file/, (m, indent: string) => `${indent}- name: envoy.access_loggers.stdout${indent}  typed_config: { "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: { text_format: "stdout %REQ(:PATH)%\\n" } }${m}`);
    const { child, stderr } = await startAigw(["--config", yamlFile(text), "--concurrency", "2"]);
    let stdout = "";
    child.stdout!.on("data", (c: Buffer) => (stdout += c));
    try {
      const port = Number(/main on :(\d+)/.exec(stderr)![1]);
      const admin = Number(/admin on :(\d+)/.exec(stderr)![1]);
      const n = 40;
      const rs = await Promise.all(Array.from({ length: n }, (_, i) => send(`http://127.0.0.1:${port}`, { path: `/r${i}` })));
      expect(rs.every((r) => r.status === 200 && r.headers["x-served-by"] === "aigw")).toBe(true);
      const stats = await (await fetch(`http://127.0.0.1:${admin}/stats`)).text();
      expect(stats).toMatch(new RegExp(`^http\\.ingress_http\\.downstream_rq_total: ${n}$`, "m"));
      await until(() => existsSync(logFile) && readFileSync(logFile, "utf8").split("\n").length > n && stdout.split("\n").length > n);
      const lines = readFileSync(logFile, "utf8").trim().split("\n");
      expect(lines.map((l) => (JSON.parse(l) as { path: string }).path).sort()).toEqual(Array.from({ length: n }, (_, i) => `/r${i}`).sort());
      expect(stdout.trim().split("\n").sort()).toEqual(Array.from({ length: n }, (_, i) => `stdout /r${i}`).sort());
    } finally {
      child.kill("SIGTERM");
    }
    const code = await new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once("exit", r)));
    expect(code).toBe(0);
  });

  it("a plugin that fails to configure stops aigw run with exit 1, the error printed once", async () => {
    const text = bootstrapYaml({ filters: [{ name: "stamp", code: filter("response-headers"), config: { headers: { "x-a": 7 } } }], routes: [{ prefix: "/", direct: { status: 200, body: "up" } }] });
    const r = await aigw(["run", "--config", yamlFile(text), "--concurrency", "2"]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/on_configure returned false/g)).toHaveLength(1);
    expect(r.stderr.match(/headers\.x-a/g)).toHaveLength(1);
  });

  it("prints a plugin's unset-key warning once, not once per worker, with one name prefix", async () => {
    const config = { route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: "Bearer {vault://env/AIGW_TEST_UNSET_KEY}" }, model: { provider: "openai", name: "gpt-4o-mini" } };
    const text = bootstrapYaml({ filters: [{ name: "proxy", rootId: "ai-proxy", vmId: "ai-proxy", code: filter("ai-proxy"), config }], routes: [{ prefix: "/", direct: { status: 200, body: "up" } }] });
    const { child, stderr } = await startAigw(["--config", yamlFile(text), "--concurrency", "2"]);
    child.kill("SIGTERM");
    const warnings = stderr.split("\n").filter((l) => l.includes("AIGW_TEST_UNSET_KEY"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("wasm log proxy ai-proxy: environment variable AIGW_TEST_UNSET_KEY is not set");
  });
});

