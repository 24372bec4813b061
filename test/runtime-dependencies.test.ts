// `npm ci --omit=dev && npx aigw` must work: what aigw loads at run time (bin/aigw.mjs, the
// script that compiles the host, and the compiled host) may import only node: builtins and the
// package's "dependencies", never a devDependency such as tsx.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { hostBundle } from "../scripts/build-host.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** The packages a JavaScript module imports (static and dynamic imports with a literal specifier). */
function importedPackages(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)].map((m) => m[1]);
  return [...new Set(specs.filter((s) => !s.startsWith(".") && !s.startsWith("/") && !s.startsWith("node:") && !s.startsWith("file:")).map((s) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0])))];
}

describe("aigw's run-time imports", () => {
  it.each(["bin/aigw.mjs", "scripts/build-host.mjs"])("%s imports only dependencies", (f) => {
    for (const p of importedPackages(join(ROOT, f))) expect(Object.keys(pkg.dependencies), `${f} imports ${p}`).toContain(p);
  });

  it("the compiled host imports only dependencies and builtins", async () => {
    const found = importedPackages(await hostBundle());
    expect(found).toContain("yaml"); // the check sees the imports
    for (const p of found) {
      if (builtinModules.includes(p)) continue;
      expect(Object.keys(pkg.dependencies), `build/aigw.mjs imports ${p}`).toContain(p);
    }
  });
});
