// Starts the local gateway on an Envoy bootstrap written by the test, on ephemeral ports.
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseBootstrap } from "../../host/envoy/bootstrap.ts";
import { Gateway, type GatewayOptions } from "../../host/gateway/gateway.ts";
import { WorkerGateway } from "../../host/gateway/workers.ts";
import type { Bootstrap } from "../../host/envoy/bootstrap-types.ts";
import type { LogLine } from "../../host/proxy/runtime.ts";

export const BUILD = resolve(import.meta.dirname, "../../build");
export const testFilter = (name: string) => join(BUILD, "test", `${name}.wasm`);
export const filter = (name: string) => join(BUILD, `${name}.wasm`);

export interface WasmFilterSpec {
  name: string;
  code: string; // .wasm path
  config?: unknown; // JSON-serialized into a StringValue
  vmConfig?: unknown;
  rootId?: string;
  vmId?: string;
  failOpen?: boolean;
  allowOnHeadersStopIteration?: boolean;
  disabled?: boolean;
  env?: Record<string, string>;
}

export interface RouteSpec {
  prefix: string;
  cluster?: string;
  direct?: { status: number; body?: string };
  timeout?: string;
  prefixRewrite?: string;
  perFilter?: Record<string, { disabled: boolean }>;
}

export interface BootstrapSpec {
  filters: WasmFilterSpec[];
  routes?: RouteSpec[];
  clusters?: Record<string, { port: number; connectTimeout?: string }>;
  bufferLimit?: number;
  extra?: string;
  /** A JSON access log written to this file, with these json_format fields (and log_format.formatters by name → typed_config @type). */
  accessLog?: { path: string; json: Record<string, string>; formatters?: Record<string, string> };
  /** generate_request_id on the connection manager (Envoy's default: true). */
  generateRequestId?: boolean;
}

const str = (v: unknown) => JSON.stringify(typeof v === "string" ? v : JSON.stringify(v));

export function bootstrapYaml(spec: BootstrapSpec): string {
  const routes = spec.routes ?? [{ prefix: "/", cluster: "upstream" }];
  const filters = spec.filters
    .map(
      (f) => `
          - name: ${f.name}${f.disabled ? "\n            disabled: true" : ""}
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
              config:
                name: ${f.name}
                root_id: ${JSON.stringify(f.rootId ?? "")}
                fail_open: ${f.failOpen ? "true" : "false"}${f.allowOnHeadersStopIteration ? "\n                allow_on_headers_stop_iteration: true" : ""}
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: ${str(f.config ?? "")}
                vm_config:
                  vm_id: ${JSON.stringify(f.vmId ?? f.name)}
                  runtime: envoy.wasm.runtime.v8${
                    f.vmConfig !== undefined
                      ? `
                  configuration:
                    "@type": type.googleapis.com/google.protobuf.StringValue
                    value: ${str(f.vmConfig)}`
                      : ""
                  }${
                    f.env
                      ? `
                  environment_variables:
                    key_values: ${JSON.stringify(f.env)}`
                      : ""
                  }
                  code: { local: { filename: ${JSON.stringify(f.code)} } }`,
    )
    .join("");
  const routeYaml = routes
    .map((r) => {
      const action = r.direct
        ? `direct_response: { status: ${r.direct.status}${r.direct.body !== undefined ? `, body: { inline_string: ${JSON.stringify(r.direct.body)} }` : ""} }`
        : `route: { cluster: ${r.cluster ?? "upstream"}${r.timeout ? `, timeout: ${r.timeout}` : ""}${r.prefixRewrite !== undefined ? `, prefix_rewrite: ${JSON.stringify(r.prefixRewrite)}` : ""} }`;
      const pf = r.perFilter
        ? `
                  typed_per_filter_config:${Object.entries(r.perFilter)
                    .map(
                      ([n, c]) => `
                    ${n}:
                      "@type": type.googleapis.com/envoy.config.route.v3.FilterConfig
                      ${c.disabled ? "disabled: true" : "config: {}"}`,
                    )
                    .join("")}`
        : "";
      return `
                - match: { prefix: ${JSON.stringify(r.prefix)} }
                  ${action}${pf}`;
    })
    .join("");
  const clusters = Object.entries(spec.clusters ?? {})
    .map(
      ([name, c]) => `
  - name: ${name}
    connect_timeout: ${c.connectTimeout ?? "1s"}
    type: STATIC
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${c.port} } } }`,
    )
    .join("");
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: main
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }${spec.bufferLimit ? `\n    per_connection_buffer_limit_bytes: ${spec.bufferLimit}` : ""}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http${spec.generateRequestId === undefined ? "" : `\n          generate_request_id: ${spec.generateRequestId}`}${
            spec.accessLog
              ? `
          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${JSON.stringify(spec.accessLog.path)}
              log_format:
                json_format: ${JSON.stringify(spec.accessLog.json)}${Object.entries(spec.accessLog.formatters ?? {})
                  .map(([name, type], i) => `${i === 0 ? "\n                formatters:" : ""}\n                - { name: ${name}, typed_config: { "@type": ${JSON.stringify(type)} } }`)
                  .join("")}`
              : ""
          }
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:${routeYaml}
          http_filters:${filters}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:${clusters || " []"}
${spec.extra ?? ""}`;
}

export interface RunningGateway<G = Gateway> {
  gw: G;
  url: string;
  admin: string;
  logs: LogLine[];
  /** Access-log lines the config sends to /dev/stdout or /dev/stderr (kept out of the test output). */
  accessLog(): string[];
  /** Log messages of the probe filter, without the "probe " prefix. */
  probe(): string[];
  close(): Promise<void>;
}

interface Started {
  ports: Map<string, number>;
  adminPort: number | null;
  close(): Promise<void>;
}

async function start<G extends Started>(spec: BootstrapSpec | string, run: (b: Bootstrap, opts: GatewayOptions) => Promise<G>, opts: { concurrency?: number }): Promise<RunningGateway<G>> {
  const yaml = typeof spec === "string" ? spec : bootstrapYaml(spec);
  const dir = mkdtempSync(join(tmpdir(), "aigw-gw-"));
  const file = join(dir, "envoy.yaml");
  writeFileSync(file, yaml);
  const logs: LogLine[] = [];
  const bootstrap = parseBootstrap(yaml, file);
  // Access logs to the process streams would print into vitest's output: a file instead.
  const accessLogFile = join(dir, "access.log");
  for (const l of bootstrap.listeners) for (const a of l.hcm.accessLogs) if (a.path === "/dev/stdout" || a.path === "/dev/stderr") a.path = accessLogFile;
  const gw = await run(bootstrap, { ephemeralPorts: true, concurrency: opts.concurrency ?? 1, logLevel: 0, onLog: (l) => logs.push(l) });
  return {
    gw,
    url: `http://127.0.0.1:${gw.ports.get("main") ?? [...gw.ports.values()][0]}`,
    admin: `http://127.0.0.1:${gw.adminPort}`,
    logs,
    accessLog: () => (existsSync(accessLogFile) ? readFileSync(accessLogFile, "utf8").split("\n").filter((l) => l.length > 0) : []),
    probe: () => logs.filter((l) => l.message.startsWith("probe ")).map((l) => l.message.slice(6)),
    close: () => gw.close(),
  };
}

export function startGateway(spec: BootstrapSpec | string, opts: { concurrency?: number } = {}): Promise<RunningGateway> {
  return start(spec, (b, o) => Gateway.start(b, o), opts);
}

/** The gateway on worker threads (as `aigw run` serves), one per --concurrency. */
export function startWorkerGateway(spec: BootstrapSpec | string, opts: { concurrency?: number } = {}): Promise<RunningGateway<WorkerGateway>> {
  return start(spec, (b, o) => WorkerGateway.start(b, o), { concurrency: opts.concurrency ?? 2 });
}
