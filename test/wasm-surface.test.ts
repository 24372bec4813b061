// Every built filter links in Envoy: the 0.2.1 marker, malloc and memory exported; imports only
// proxy-wasm 0.2.1 host functions with their exact types and the WASI calls Envoy provides.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseModule } from "../host/abi/wasm-binary.ts";
import { HOST_IMPORTS, sameType } from "../host/abi/signatures.ts";
import { BUILD } from "./support/gateway.ts";

const filters = readdirSync(BUILD).filter((f) => f.endsWith(".wasm")).map((f) => join(BUILD, f));
const testFilters = readdirSync(join(BUILD, "test"))
  .filter((f) => f.endsWith(".wasm"))
  .map((f) => join(BUILD, "test", f))
  .filter((f) => parseModule(readFileSync(f)).exports.some((e) => e.name.startsWith("proxy_on_")));

const FORBIDDEN = ["env.abort", "env.seed", "env.trace", "env.Date.now", "env.proxy_clear_route_cache", "env.proxy_get_configuration", "env.proxy_continue_request", "env.proxy_continue_response"];

describe("built modules link in Envoy", () => {
  it("builds at least the shipped filters", () => {
    expect(filters.map((f) => f.split("/").pop())).toEqual(expect.arrayContaining(["noop.wasm", "response-headers.wasm"]));
  });

  it.each([...filters, ...testFilters])("%s", (file) => {
    const info = parseModule(readFileSync(file));
    const exports = new Set(info.exports.map((e) => e.name));
    expect(exports.has("proxy_abi_version_0_2_1")).toBe(true);
    expect(exports.has("proxy_abi_version_0_1_0") || exports.has("proxy_abi_version_0_2_0")).toBe(false);
    expect(exports.has("malloc") || exports.has("proxy_on_memory_allocate")).toBe(true);
    expect(exports.has("memory")).toBe(true);
    for (const imp of info.imports) {
      const key = `${imp.module}.${imp.name}`;
      expect(FORBIDDEN).not.toContain(key);
      expect(["env", "wasi_snapshot_preview1", "wasi_unstable"]).toContain(imp.module);
      expect(imp.kind, key).toBe("func");
      const want = HOST_IMPORTS.get(key);
      expect(want, `${key} is not provided by Envoy`).toBeDefined();
      expect(sameType(imp.type!, want!), `${key} has the wrong signature`).toBe(true);
    }
  });
});
