// Every Envoy snippet in a README under filters/ and examples/ is loaded as written: an
// http_filters entry goes into a chain before the router, a bootstrap section (stats_config)
// into a bootstrap; each example's envoy.yaml is loaded too. The only thing filled in is what
// the README tells the user to provide (OPENAI_API_KEY for ai-proxy's host_env_keys).
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseBootstrap } from "../host/envoy/bootstrap.ts";
import { Gateway } from "../host/gateway/gateway.ts";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { formsYaml, get } from "./support/wasm-forms.ts";

const ROOT = resolve(import.meta.dirname, "..");

/** The ```yaml blocks of a markdown file, unchanged. */
function yamlBlocks(file: string): string[] {
  const out: string[] = [];
  const re = /^```ya?ml\n([\s\S]*?)^```/gm;
  for (const m of readFileSync(file, "utf8").matchAll(re)) out.push(m[1]!);
  return out;
}

const readmes = ["filters", "examples"].flatMap((dir) =>
  readdirSync(join(ROOT, dir), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, dir, d.name, "README.md")))
    .map((d) => join(dir, d.name, "README.md")),
);
const snippets = readmes.flatMap((file) => yamlBlocks(join(ROOT, file)).map((text, i) => ({ file, i, text })));

const indent = (text: string, n: number) =>
  text
    .split("\n")
    .map((l) => (l.length ? " ".repeat(n) + l : l))
    .join("\n");

/** A snippet's lines without their common indentation. */
function dedent(text: string): string {
  const lines = text.split("\n");
  const n = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  return lines.map((l) => l.slice(n)).join("\n");
}

/** What a snippet is: an http_filters entry, a clusters entry, or top-level bootstrap sections. */
function kindOf(snippet: string): "filter" | "cluster" | "bootstrap" {
  if (!/^- name:/.test(snippet)) return "bootstrap";
  return /^\s+(connect_timeout|load_assignment):/m.test(snippet) ? "cluster" : "filter";
}

/** A bootstrap with the snippet, as written, in its place. */
function bootstrapWith(text: string): string {
  const snippet = dedent(text);
  const kind = kindOf(snippet);
  const yaml = formsYaml([{ name: "main", filters: kind === "filter" ? `\n${indent(snippet, 10).trimEnd()}` : "" }]);
  if (kind === "cluster") return yaml.replace("  clusters: []", `  clusters:\n${indent(snippet, 2).trimEnd()}`);
  return kind === "bootstrap" ? yaml + snippet : yaml;
}

let cwd = "";
let g: RunningGateway | null = null;
beforeAll(() => {
  cwd = process.cwd();
  process.chdir(ROOT); // the snippets name build/<filter>.wasm relative to the repository, as the READMEs run Envoy there
  process.env.OPENAI_API_KEY ??= "sk-readme-test"; // filters/ai-proxy/README.md: export OPENAI_API_KEY
  process.env.AZURE_CONTENT_SAFETY_KEY ??= "cs-readme-test"; // filters/ai-azure-content-safety/README.md and its example: export AZURE_CONTENT_SAFETY_KEY
});
afterAll(() => process.chdir(cwd));
afterEach(async () => {
  await g?.close();
  g = null;
});

describe("README snippets load unchanged", () => {
  it("finds the snippets", () => {
    expect(snippets.length).toBeGreaterThanOrEqual(7);
  });

  for (const s of snippets) {
    it(`${s.file} snippet #${s.i + 1}`, async () => {
      g = await startGateway(bootstrapWith(s.text));
      // The plugin configured and answers (filters that need a chat body refuse a bare GET with 4xx).
      const r = await get(g.url);
      expect(r.status, r.body).toBeLessThan(500);
      if (s.text.includes("build/response-headers.wasm")) expect(r.headers.get("x-gateway")).toBe("wasm-ai-gateway");
      if (kindOf(dedent(s.text)) === "filter") expect(g.gw.pluginCount).toBe(1);
      if (kindOf(dedent(s.text)) === "cluster") expect(g.gw.bootstrap.clusters.size).toBe(1);
    });
  }

  // Every Envoy bootstrap among the examples' YAML files (not Kubernetes manifests or service configs).
  const examples = readdirSync(join(ROOT, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(ROOT, "examples", d.name)).map((f) => `examples/${d.name}/${f}`))
    .filter((f) => /\.ya?ml$/.test(f) && /^static_resources:/m.test(readFileSync(join(ROOT, f), "utf8")));
  for (const file of examples) {
    it(`${file} loads`, async () => {
      const b = parseBootstrap(readFileSync(join(ROOT, file), "utf8"), join(ROOT, file));
      const gw = await Gateway.load(b, { concurrency: 1, onLog: () => {} });
      await gw.close();
      expect(gw.pluginCount).toBeGreaterThan(0);
    });
  }
});
