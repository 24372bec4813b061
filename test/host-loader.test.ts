// Loading, as Envoy does it: the ABI marker, every import provided with its exact signature,
// malloc, the restricted start phase, on_vm_start/on_configure refusals.
import { describe, expect, it } from "vitest";
import { checkModule } from "../host/proxy/wasm-vm.ts";
import { proxyModule, writeTemp } from "./support/wat.ts";
import { pluginConfig } from "./support/plugin-config.ts";
import { testRuntime } from "./support/runtime.ts";

const LIFECYCLE = `
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)`;

describe("module checks at link time", () => {
  it("accepts a minimal 0.2.1 module", () => {
    expect(() => checkModule(proxyModule(LIFECYCLE))).not.toThrow();
  });

  it("refuses a module without the ABI version marker", () => {
    expect(() => checkModule(proxyModule(LIFECYCLE, { marker: false }))).toThrow("Missing or unknown Proxy-Wasm ABI version");
  });

  it("refuses a module without malloc or proxy_on_memory_allocate", () => {
    expect(() => checkModule(proxyModule(LIFECYCLE, { malloc: false }))).toThrow("Wasm module is missing malloc function.");
  });

  it("accepts proxy_on_memory_allocate in place of malloc", () => {
    const m = proxyModule(`${LIFECYCLE} (func (export "proxy_on_memory_allocate") (param i32) (result i32) i32.const 64)`, { malloc: false });
    expect(() => checkModule(m)).not.toThrow();
  });

  it.each([
    ["env", "abort", "(param i32 i32 i32 i32)"],
    ["env", "seed", "(result f64)"],
    ["env", "Date.now", "(result f64)"],
    ["env", "proxy_continue_request", "(result i32)"], // ABI 0.1.0 only
    ["env", "proxy_clear_route_cache", "(result i32)"], // ABI 0.1.0 only
    ["wasi_snapshot_preview1", "sched_yield", "(result i32)"], // not registered by Envoy
  ])("refuses an import Envoy does not provide: %s.%s", (mod, name, sig) => {
    const m = proxyModule(`(import "${mod}" "${name}" (func ${sig})) ${LIFECYCLE}`);
    expect(() => checkModule(m)).toThrow(`Failed to load Wasm module due to a missing import: ${mod}.${name}`);
  });

  it("refuses an import with the wrong signature (10-parameter grpc_call of the old SDKs)", () => {
    const m = proxyModule(`(import "env" "proxy_grpc_call" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32))) ${LIFECYCLE}`);
    expect(() => checkModule(m)).toThrow("Failed to load Wasm module due to an import type mismatch: env.proxy_grpc_call");
  });

  it("refuses i32 where the ABI has i64 (increment_metric)", () => {
    const m = proxyModule(`(import "env" "proxy_increment_metric" (func (param i32 i32) (result i32))) ${LIFECYCLE}`);
    expect(() => checkModule(m)).toThrow("import type mismatch: env.proxy_increment_metric");
  });

  it("refuses a callback exported with the wrong signature", () => {
    const m = proxyModule(`${LIFECYCLE} (func (export "proxy_on_request_headers") (param i32 i32) (result i32) i32.const 0)`);
    expect(() => checkModule(m)).toThrow("Bad function signature for: proxy_on_request_headers");
  });

  it("accepts every 0.2.1 host function and WASI call Envoy registers", () => {
    const m = proxyModule(`
      (import "env" "proxy_continue_stream" (func (param i32) (result i32)))
      (import "env" "proxy_get_log_level" (func (param i32) (result i32)))
      (import "env" "proxy_grpc_call" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_record_metric" (func (param i32 i64) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "wasi_unstable" "clock_time_get" (func (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      ${LIFECYCLE}`);
    expect(() => checkModule(m)).not.toThrow();
  });
});

describe("start phase and plugin start", () => {
  const load = async (body: string, config = "") => {
    const { runtime, logs } = testRuntime();
    const file = writeTemp(proxyModule(body));
    try {
      return { plugin: await runtime.loadPlugin(pluginConfig(file, { config })), logs, error: null as Error | null };
    } catch (e) {
      return { plugin: null, logs, error: e as Error };
    } finally {
      runtime.close();
    }
  };

  it("allows proxy_log during _start", async () => {
    const r = await load(`
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (data (i32.const 16) "starting")
      (func (export "_start") (drop (call $log (i32.const 2) (i32.const 16) (i32.const 8))))
      ${LIFECYCLE}`);
    expect(r.error).toBeNull();
    expect(r.logs.map((l) => l.message)).toContain("starting");
  });

  it("traps a restricted call during _start (proxy_define_metric) and fails the load", async () => {
    const r = await load(`
      (import "env" "proxy_define_metric" (func $def (param i32 i32 i32 i32) (result i32)))
      (data (i32.const 16) "m")
      (func (export "_start") (drop (call $def (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 32))))
      ${LIFECYCLE}`);
    expect(r.error?.message).toMatch(/restricted_callback/);
  });

  it("calls _initialize and then main when both exist (WASI reactor)", async () => {
    const r = await load(`
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (data (i32.const 16) "initmain")
      (func (export "_initialize") (drop (call $log (i32.const 2) (i32.const 16) (i32.const 4))))
      (func (export "main") (param i32 i32) (result i32) (drop (call $log (i32.const 2) (i32.const 20) (i32.const 4))) i32.const 0)
      ${LIFECYCLE}`);
    expect(r.error).toBeNull();
    expect(r.logs.map((l) => l.message)).toEqual(["init", "main"]);
  });

  it("fails the load when on_vm_start returns false", async () => {
    const r = await load(`
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 0)`);
    expect(r.error?.message).toMatch(/on_vm_start returned false/);
  });

  it("fails the load when on_configure returns false, with the plugin's own log line", async () => {
    const r = await load(`
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (data (i32.const 16) "configuration field 'headers' must be an object")
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (drop (call $log (i32.const 4) (i32.const 16) (i32.const 47))) i32.const 0)`);
    expect(r.error?.message).toMatch(/on_configure returned false/);
    expect(r.error?.message).toContain("configuration field 'headers' must be an object");
  });

  it("reads the plugin configuration through get_buffer_bytes(PLUGIN_CONFIGURATION) only during on_configure", async () => {
    const r = await load(
      `
      (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_configure") (param i32 i32) (result i32)
        (if (i32.ne (call $get (i32.const 7) (i32.const 0) (local.get 1) (i32.const 100) (i32.const 104)) (i32.const 0)) (then (return (i32.const 0))))
        (drop (call $log (i32.const 2) (i32.load (i32.const 100)) (i32.load (i32.const 104))))
        i32.const 1)`,
      '{"k":"v"}',
    );
    expect(r.error).toBeNull();
    expect(r.logs.map((l) => l.message)).toContain('{"k":"v"}');
  });
});
