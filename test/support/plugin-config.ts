// A WasmPluginConfig for tests that load a module without an envoy.yaml.
import type { WasmPluginConfig } from "../../host/envoy/bootstrap-types.ts";

export function pluginConfig(codeFile: string, over: Partial<WasmPluginConfig> & { config?: string } = {}): WasmPluginConfig {
  const { config, ...rest } = over;
  return {
    name: "test",
    rootId: "test",
    vmId: "test",
    runtime: "envoy.wasm.runtime.v8",
    configuration: Buffer.from(config ?? ""),
    vmConfiguration: new Uint8Array(0),
    codeFile,
    environment: {},
    failOpen: false,
    allowOnHeadersStopIteration: false,
    ...rest,
  };
}
