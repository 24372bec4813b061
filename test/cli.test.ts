// aigw validate / aigw run, as a user runs them.
import { execFile, spawn } from "node:child_process";
import { writeFileSync, mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { bootstrapYaml, filter } from "./support/gateway.ts";
import { formsYaml, wasmEntry } from "./support/wasm-forms.ts";

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

  it("prints usage for an unknown command", async () => {
    const r = await aigw(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage:/);
  });
});

describe("aigw run", () => {
  it("serves a config until it is stopped", async () => {
    expect(existsSync(filter("response-headers"))).toBe(true);
    const text = bootstrapYaml({
      filters: [{ name: "stamp", code: filter("response-headers"), config: { headers: { "x-served-by": "aigw" } } }],
      routes: [{ prefix: "/", direct: { status: 200, body: "up" } }],
    }).replace(/port_value: 0/g, "port_value: 0");
    const child = spawn(process.execPath, [AIGW, "run", "--config", yamlFile(text)], { cwd: ROOT });
    try {
      const line = await new Promise<string>((res, rej) => {
        let err = "";
        child.stderr.on("data", (c: Buffer) => {
          err += c;
          if (err.includes("serving")) res(err);
        });
        child.on("exit", () => rej(new Error(err)));
      });
      const port = Number(/main on :(\d+)/.exec(line)![1]);
      const r = await fetch(`http://127.0.0.1:${port}/`);
      expect(r.status).toBe(200);
      expect(r.headers.get("x-served-by")).toBe("aigw");
      expect(await r.text()).toBe("up");
    } finally {
      child.kill("SIGTERM");
    }
  });
});
