// The router's retry policy and a cluster's upstream HTTP filter chain, as Envoy runs them.
// Sources checked:
// - source/common/router/retry_state_impl.cc: retry_on values, x-envoy-retry-on / x-envoy-max-retries /
//   x-envoy-retriable-status-codes merged with the route policy, the jittered back-off;
// - source/common/router/router.cc and upstream_request.cc: body buffered for retries, per-try
//   timeout ignored once the response started, a try's host chosen before its upstream filters run,
//   upstream filters sharing the downstream StreamInfo and sending local replies downstream;
// - source/extensions/filters/http/wasm/config.cc: the Wasm filter factory is dual (downstream and
//   upstream), so it can sit in HttpProtocolOptions.http_filters before the UpstreamCodec filter.
import { afterEach, describe, expect, it } from "vitest";
import { filter, startGateway, type RunningGateway } from "./support/gateway.ts";
import { closedPort, startUpstream, type Handler, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { parseBootstrap } from "../host/envoy/bootstrap.ts";
import { listenerYaml } from "./support/envoy-yaml.ts";

let gw: RunningGateway | null = null;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function upstream(handler?: Handler): Promise<TestUpstream> {
  const u = await startUpstream(handler);
  closers.push(() => u.close());
  return u;
}


const answer = (status: number, body: string, headers: Record<string, string> = {}): Handler => (_r, res) => {
  res.writeHead(status, { "content-type": "text/plain", ...headers });
  res.end(body);
};

function responseHeadersFilter(name: string, headers: Record<string, string>): string {
  return `
        - name: ${name}
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm
            config:
              name: ${name}
              root_id: ""
              configuration:
                "@type": type.googleapis.com/google.protobuf.StringValue
                value: ${JSON.stringify(JSON.stringify({ headers }))}
              vm_config:
                vm_id: upstream
                code: { local: { filename: ${JSON.stringify(filter("response-headers"))} } }`;
}

/** One listener routing /r to cluster `c` with `retryPolicy`; cluster `c` has `ports` endpoints and optional upstream filters. */
function yaml(o: { ports: number[]; retryPolicy?: string; upstreamFilters?: string; routeTimeout?: string; moreClusters?: string; moreRoutes?: string }): string {
  const eps = o.ports.map((p) => `\n        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${p} } } }`).join("");
  const uf = o.upstreamFilters
    ? `
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http_protocol_options: {} }
        http_filters:${o.upstreamFilters}
        - name: envoy.filters.http.upstream_codec
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec`
    : "";
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:${listenerYaml({
    name: "main",
    statPrefix: "ingress",
    filters: "",
    virtualHosts: `
            - name: all
              domains: ["*"]
              routes:${o.moreRoutes ?? ""}
              - match: { prefix: "/r" }
                route:
                  cluster: c${o.routeTimeout ? `\n                  timeout: ${o.routeTimeout}` : ""}${o.retryPolicy ? `\n                  retry_policy: ${o.retryPolicy}` : ""}`,
  })}
  clusters:
  - name: c
    connect_timeout: 1s
    load_assignment:
      cluster_name: c
      endpoints:
      - lb_endpoints:${eps}${uf}${o.moreClusters ?? ""}
`;
}

describe("retry policy (router.cc, retry_state_impl.cc)", () => {
  it("retries a retriable status on another host (previous_hosts) with the same body, and returns the retried answer", async () => {
    const a = await upstream(answer(429, "busy"));
    const b = await upstream(answer(200, "ok"));
    gw = await startGateway(
      yaml({
        ports: [a.port, b.port],
        retryPolicy: `{ retry_on: retriable-status-codes, retriable_status_codes: [429], num_retries: 2, retry_host_predicate: [{ name: envoy.retry_host_predicates.previous_hosts, typed_config: { "@type": type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate } }], host_selection_retry_max_attempts: 3 }`,
      }),
    );
    const r = await send(gw.url, { path: "/r", method: "POST", body: "the body" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("ok");
    expect(a.received.map((x) => x.body)).toEqual(["the body"]);
    expect(b.received.map((x) => x.body)).toEqual(["the body"]);
    expect(await (await fetch(`${gw.admin}/stats`)).text()).toMatch(/cluster\.c\.upstream_rq_retry: 1/);
  });

  it("without a matching retry_on the first answer stands; retries left exhausted return the last answer as is", async () => {
    const a = await upstream(answer(503, "down-a"));
    const b = await upstream(answer(503, "down-b"));
    gw = await startGateway(yaml({ ports: [a.port, b.port], retryPolicy: `{ retry_on: connect-failure, num_retries: 3 }` }));
    const r1 = await send(gw.url, { path: "/r" });
    expect(r1.status).toBe(503);
    expect(a.received.length + b.received.length).toBe(1);
    // x-envoy-retry-on adds to the route's retry_on; x-envoy-max-retries replaces num_retries.
    const r2 = await send(gw.url, { path: "/r", headers: { "x-envoy-retry-on": "5xx", "x-envoy-max-retries": "1" } });
    expect(r2.status).toBe(503);
    expect(a.received.length + b.received.length).toBe(3);
    // The retry headers are the router's, never sent upstream.
    expect(a.received.concat(b.received).every((x) => x.headers["x-envoy-retry-on"] === undefined && x.headers["x-envoy-max-retries"] === undefined)).toBe(true);
  });

  it("retries a connect failure on connect-failure, and a per-try timeout on 5xx; the per-try timeout alone answers 504", async () => {
    const dead = await closedPort();
    const ok = await upstream(answer(200, "ok"));
    gw = await startGateway(yaml({ ports: [dead, ok.port], retryPolicy: `{ retry_on: connect-failure, num_retries: 1 }` }));
    expect((await send(gw.url, { path: "/r" })).body).toBe("ok");
    await gw.close();

    const slow = await upstream(async (_r, res) => {
      await new Promise((r) => setTimeout(r, 2000));
      res.end("late");
    });
    gw = await startGateway(yaml({ ports: [slow.port, ok.port], retryPolicy: `{ retry_on: 5xx, num_retries: 1, per_try_timeout: 0.2s }` }));
    const r = await send(gw.url, { path: "/r" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("ok");
    await gw.close();
    // x-envoy-max-retries: 0 leaves the per-try timeout with nothing to retry: Envoy's 504.
    gw = await startGateway(yaml({ ports: [slow.port], retryPolicy: `{ retry_on: 5xx, num_retries: 1, per_try_timeout: 0.2s }` }));
    const t = await send(gw.url, { path: "/r", headers: { "x-envoy-max-retries": "0" } });
    expect(t.status).toBe(504);
    expect(t.body).toBe("upstream request timeout");
  });

  it("never retries once the response has started: a per-try timeout after headers lets the response finish", async () => {
    const streaming = await upstream(async (_r, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first ");
      await new Promise((r) => setTimeout(r, 400));
      res.end("last");
    });
    gw = await startGateway(yaml({ ports: [streaming.port], retryPolicy: `{ retry_on: 5xx, num_retries: 2, per_try_timeout: 0.1s }` }));
    const r = await send(gw.url, { path: "/r" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("first last");
    expect(streaming.received.length).toBe(1);
  });

  it("refuses retry policy fields it does not run, naming them", () => {
    expect(() => parseBootstrap(yaml({ ports: [1], retryPolicy: `{ retry_on: 5xx, retry_priority: { name: envoy.retry_priorities.previous_priorities } }` }), "t.yaml")).toThrow(/retry_policy\.retry_priority: field not supported by the local gateway/);
    expect(() => parseBootstrap(yaml({ ports: [1], retryPolicy: `{ retry_on: "5xx,reset-before-request" }` }), "t.yaml")).toThrow(/retry_policy\.retry_on: retry_on value "reset-before-request"/);
    expect(() => parseBootstrap(yaml({ ports: [1], retryPolicy: `{ retry_on: 5xx, retry_back_off: { base_interval: 1s, max_interval: 0.5s } }` }), "t.yaml")).toThrow(/max_interval must be greater than or equal to the base_interval/);
  });
});

describe("upstream HTTP filters (HttpProtocolOptions.http_filters)", () => {
  it("runs each cluster's own upstream Wasm filter, once per try: a retried try's filter leaves no trace", async () => {
    let n = 0;
    const flaky = await upstream((_r, res) => {
      res.writeHead(n++ === 0 ? 503 : 200, { "content-type": "text/plain" });
      res.end(n === 1 ? "down" : "up");
    });
    const other = await upstream(answer(200, "other"));
    const moreClusters = `
  - name: d
    load_assignment:
      cluster_name: d
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${other.port} } } }
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config: { http_protocol_options: {} }
        http_filters:${responseHeadersFilter("stamp-d", { "x-cluster": "d" })}
        - name: envoy.filters.http.upstream_codec
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec`;
    gw = await startGateway(
      yaml({
        ports: [flaky.port],
        retryPolicy: `{ retry_on: 5xx, num_retries: 1 }`,
        upstreamFilters: responseHeadersFilter("stamp-c", { "x-cluster": "c" }),
        moreClusters,
        moreRoutes: `
              - match: { prefix: "/d" }
                route: { cluster: d }`,
      }),
    );
    const r = await send(gw.url, { path: "/r" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("up");
    expect(r.headers["x-cluster"]).toBe("c"); // one entry: the 503 try's filter output was dropped with it
    const d = await send(gw.url, { path: "/d" });
    expect(d.body).toBe("other");
    expect(d.headers["x-cluster"]).toBe("d");
  });

  it("refuses a chain that does not end with the UpstreamCodec filter, naming the filter", () => {
    const bad = yaml({ ports: [1], upstreamFilters: responseHeadersFilter("x", {}) }).replace(/\n        - name: envoy\.filters\.http\.upstream_codec[\s\S]*UpstreamCodec/, "");
    expect(() => parseBootstrap(bad, "t.yaml")).toThrow(/http_filters\[0\].*non-terminal filter named x/);
  });
});

describe("internal listeners (source/extensions/bootstrap/internal_listener/)", () => {
  it("reaches an internal listener through a cluster whose endpoint is its envoy_internal_address", async () => {
    const up = await upstream((r, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`inner saw ${r.headers.host}`);
    });
    const hcm = (name: string, routes: string) => `
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          route_config:
            virtual_hosts:${routes}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }`;
    const ext = `
bootstrap_extensions:
- name: envoy.bootstrap.internal_listener
  typed_config: { "@type": type.googleapis.com/envoy.extensions.bootstrap.internal_listener.v3.InternalListener }`;
    const body = `
static_resources:
  listeners:
  - name: main
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }${hcm(
      "main",
      `
            - name: all
              domains: ["*"]
              routes: [{ match: { prefix: "/" }, route: { cluster: loop, host_rewrite_literal: inner.example } }]`,
    )}
  - name: inner
    internal_listener: {}${hcm(
      "inner",
      `
            - name: inner
              domains: ["inner.example"]
              routes: [{ match: { prefix: "/" }, route: { cluster: up } }]`,
    )}
  clusters:
  - name: loop
    load_assignment:
      cluster_name: loop
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: inner } } } }] }]
  - name: up
    load_assignment:
      cluster_name: up
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${up.port} } } } }] }]
`;
    expect(() => parseBootstrap(body, "t.yaml")).toThrow(/internal_listener: an internal listener needs the envoy.bootstrap.internal_listener bootstrap extension/);
    expect(() => parseBootstrap(ext + body.replace("server_listener_name: inner", "server_listener_name: nope"), "t.yaml")).toThrow(/no internal listener named "nope"/);
    gw = await startGateway(ext + body);
    const r = await send(gw.url, { path: "/x" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("inner saw inner.example");
  });
});
