// The ABI-level exports every module needs: the version marker Envoy scans for and the
// allocator it calls. An entry file re-exports them (lib/runtime/exports.ts does).

export { malloc } from "./memory";

/** Marks the module as proxy-wasm ABI 0.2.1 (cpp-host refuses a module without a marker). */
export function proxy_abi_version_0_2_1(): void {}
