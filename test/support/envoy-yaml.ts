// Envoy bootstrap YAML for tests and benchmarks: one listener, wasm filters in order, the
// router last, static clusters on loopback. Kept as text so each test shows real Envoy config.

export interface WasmFilterOptions {
  rootId?: string;
  vmId?: string;
  disabled?: boolean;
  env?: Record<string, string>;
}

/** One `http_filters` entry for a wasm filter (configuration as a StringValue of JSON). */
export function wasmFilterYaml(name: string, code: string, config: unknown, o: WasmFilterOptions = {}): string {
  const value = typeof config === "string" ? config : JSON.stringify(config);
  return `
          - name: ${name}${o.disabled ? "\n            disabled: true" : ""}
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ${name}
                root_id: ${JSON.stringify(o.rootId ?? name)}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${JSON.stringify(value)}
                vm_config:
                  vm_id: ${JSON.stringify(o.vmId ?? name)}
                  runtime: envoy.wasm.runtime.v8${
                    o.env
                      ? `
                  environment_variables:
                    key_values: ${JSON.stringify(o.env)}`
                      : ""
                  }
                  code: { local: { filename: ${JSON.stringify(code)} } }`;
}

export interface BootstrapOptions {
  listener?: string;
  statPrefix?: string;
  admin?: boolean;
  /** `http_filters` entries (wasmFilterYaml output), before the router. */
  filters?: string;
  /** `virtual_hosts` entries; default: every path to the first cluster. */
  virtualHosts?: string;
  /** Cluster name → loopback port. */
  clusters: Record<string, number>;
  extra?: string;
  /** generate_request_id on the connection manager (Envoy's default: true). */
  generateRequestId?: boolean;
}

/** `clusters` entries: each name on a loopback port. */
export function clustersYaml(clusters: Record<string, number>): string {
  return Object.entries(clusters)
    .map(
      ([name, port]) => `
  - name: ${name}
    connect_timeout: 1s
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } }`,
    )
    .join("");
}

/** One `listeners` entry on an ephemeral loopback port: the HTTP connection manager (with `accessLog`, an `access_log:` block indented for it), the filters, the router. */
export function listenerYaml(l: { name: string; statPrefix: string; virtualHosts: string; filters: string; generateRequestId?: boolean; accessLog?: string }): string {
  return `
  - name: ${l.name}
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${l.statPrefix}${l.generateRequestId === undefined ? "" : `\n          generate_request_id: ${l.generateRequestId}`}${l.accessLog ?? ""}
          route_config:
            virtual_hosts:${l.virtualHosts}
          http_filters:${l.filters}
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
}

export function bootstrapYamlText(o: BootstrapOptions): string {
  const first = Object.keys(o.clusters)[0] ?? "upstream";
  const vhosts =
    o.virtualHosts ??
    `
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: ${first} }`;
  const clusters = clustersYaml(o.clusters);
  return `${
    o.admin === false
      ? ""
      : `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
`
  }static_resources:
  listeners:${listenerYaml({ name: o.listener ?? "main", statPrefix: o.statPrefix ?? "ingress", virtualHosts: vhosts, filters: o.filters ?? "", generateRequestId: o.generateRequestId })}
  clusters:${clusters || " []"}
${o.extra ?? ""}`;
}

/**
 * `yaml` (a bootstrap file) with the named clusters sent to loopback ports over plain HTTP:
 * each `  - name: X` cluster block in `ports` becomes STATIC on 127.0.0.1:PORT and loses its
 * transport_socket, so shipped configs and examples run against local simulators.
 */
export function pointClustersAt(yaml: string, ports: Record<string, number>): string {
  const cut = yaml.indexOf("\n  clusters:\n");
  if (cut < 0) return yaml;
  const head = yaml.slice(0, cut);
  const blocks = yaml.slice(cut).split(/\n(?=  - name: )/);
  const clusters = blocks.map((block) => {
    const name = /^  - name: (\S+)/.exec(block)?.[1];
    const port = name ? ports[name] : undefined;
    if (port === undefined) return block;
    return block
      .replace(/type: LOGICAL_DNS/, "type: STATIC")
      .replace(/address: \S+, port_value: \d+/, `address: 127.0.0.1, port_value: ${port}`)
      .replace(/\n    transport_socket:[\s\S]*$/, "");
  });
  return head + clusters.join("\n");
}
