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

/** A bootstrap with the snippet in place: an http_filters entry, or top-level sections. */
function bootstrapWith(snippet: string): string {
  const isFilter = /^- name:/.test(snippet);
  return formsYaml([{ name: "main", filters: isFilter ? `\n${indent(snippet, 10).trimEnd()}` : "" }]) + (isFilter ? "" : snippet);
}

let cwd = "";
let g: RunningGateway | null = null;
beforeAll(() => {
  cwd = process.cwd();
  process.chdir(ROOT); // the snippets name build/<filter>.wasm relative to the repository, as the READMEs run Envoy there
  process.env.OPENAI_API_KEY ??= "sk-readme-test"; // filters/ai-proxy/README.md: export OPENAI_API_KEY
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
      if (/^- name:/.test(s.text)) expect(g.gw.pluginCount).toBe(1);
    });
  }

  const examples = readdirSync(join(ROOT, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, "examples", d.name, "envoy.yaml")))
    .map((d) => `examples/${d.name}/envoy.yaml`);
  for (const file of examples) {
    it(`${file} loads`, async () => {
      const b = parseBootstrap(readFileSync(join(ROOT, file), "utf8"), join(ROOT, file));
      const gw = await Gateway.load(b, { concurrency: 1, onLog: () => {} });
      await gw.close();
      expect(gw.pluginCount).toBeGreaterThan(0);
    });
  }
});
