// Envoy bootstrap text for the plugin-identity and config-form tests: listeners whose routes
// answer directly (response filters still run on direct responses), wasm filters written out
// in full so each test shows the form it exercises.
import { filter } from "./gateway.ts";
import { clustersYaml, listenerYaml } from "./envoy-yaml.ts";

export const RESPONSE_HEADERS = filter("response-headers");

export interface WasmEntry {
  /** http_filters[].name */
  filter: string;
  /** config.name (plugin_name); default: the filter name */
  plugin?: string;
  rootId?: string;
  vmId?: string;
  /** JSON of the configuration, as a StringValue */
  config?: unknown;
  disabled?: boolean;
  code?: string;
  /** extra lines of PluginConfig (indented to match), e.g. failure_policy */
  more?: string;
}

/** A response-headers-style wasm filter entry with the configuration as a StringValue. */
export function wasmEntry(e: WasmEntry): string {
  return `
          - name: ${e.filter}${e.disabled ? "\n            disabled: true" : ""}
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ${JSON.stringify(e.plugin ?? e.filter)}
                root_id: ${JSON.stringify(e.rootId ?? "")}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${JSON.stringify(JSON.stringify(e.config ?? {}))}${e.more ?? ""}
                vm_config:
                  vm_id: ${JSON.stringify(e.vmId ?? "")}
                  runtime: envoy.wasm.runtime.v8
                  code: { local: { filename: ${JSON.stringify(e.code ?? RESPONSE_HEADERS)} } }`;
}

export interface ListenerSpec {
  name: string;
  /** http_filters entries before the router */
  filters: string;
  /** routes entries; default: everything answered 200 "ok" */
  routes?: string;
}

export const okRoute = (prefix = "/", more = "") => `
              - match: { prefix: ${JSON.stringify(prefix)} }
                direct_response: { status: 200, body: { inline_string: ok } }${more}`;

export function formsYaml(listeners: ListenerSpec[], clusters: Record<string, number> = {}): string {
  const ls = listeners
    .map((l) =>
      listenerYaml({
        name: l.name,
        statPrefix: l.name,
        virtualHosts: `
            - name: all
              domains: ["*"]
              routes:${l.routes ?? okRoute()}`,
        filters: l.filters,
      }),
    )
    .join("");
  const cs = clustersYaml(clusters);
  return `static_resources:
  listeners:${ls}
  clusters:${cs || " []"}
`;
}

/** The headers and status of a GET through the gateway. */
export async function get(base: string, path = "/", headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: string }> {
  const r = await fetch(`${base}${path}`, { headers });
  return { status: r.status, headers: r.headers, body: await r.text() };
}
