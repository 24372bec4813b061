// noop takes no configuration: whatever the plugin configuration holds is ignored, so the
// filter can stand in anywhere a Wasm filter is expected (benchmarks, chain-order tests).

/** The parsed configuration: nothing. */
export class NoopConfig {}

/** Accepts any configuration bytes. */
export function parseNoopConfig(bytes: Uint8Array): NoopConfig {
  return new NoopConfig();
}
