// What a newcomer meets first: the README's first block is the two commands, CI runs exactly
// them, the repository holds what its docs point at, and .gitignore ignores nothing tracked.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const tracked = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);

describe("the repository", () => {
  it("starts its README with exactly `npm install && npm start` then `npm test`", () => {
    const first = /```sh\n([\s\S]*?)```/.exec(read("README.md"))!;
    expect(first[1]).toBe("npm install && npm start\nnpm test\n");
  });

  it("has .ci/run call the README's commands: npm install, then npm test", () => {
    const commands = read(".ci/run")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => /^npm /.test(l));
    expect(commands).toEqual(["npm install", "npm test"]);
  });

  it("ignores no tracked file", () => {
    expect(execFileSync("git", ["ls-files", "-ci", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })).toBe("");
  });

  it("has the licence package.json names, and a changelog", () => {
    expect((JSON.parse(read("package.json")) as { license: string }).license).toBe("Apache-2.0");
    expect(read("LICENSE")).toContain("Apache License\n                           Version 2.0, January 2004");
    expect(read("CHANGELOG.md")).toMatch(/^# Changelog/);
  });

  it("points its Markdown only at files a clone has", () => {
    const missing: string[] = [];
    for (const md of tracked.filter((f) => f.endsWith(".md"))) {
      const text = read(md);
      expect(text, md).not.toMatch(/\.\.\/shared\//);
      // Markdown links to relative paths ([x](path), not URLs or anchors).
      for (const m of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = m[1];
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(resolve(ROOT, dirname(md), target))) missing.push(`${md} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
