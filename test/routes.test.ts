import { describe, expect, it } from "vitest";
import { findRoute, matchHeader, matchRoute, rewritePath, selectVirtualHost } from "../host/envoy/routes.ts";
import { parseBootstrap } from "../host/envoy/bootstrap.ts";
import type { HeaderMatcher, Route, RouteConfiguration, RouteMatch, VirtualHost } from "../host/envoy/bootstrap-types.ts";
import { HeaderMap } from "../host/http/header-map.ts";

function vh(name: string, domains: string[], routes: Route[] = []): VirtualHost {
  return { name, domains, routes };
}
function rc(virtualHosts: VirtualHost[], ignorePortInHostMatching = false): RouteConfiguration {
  return { name: "rc", virtualHosts, ignorePortInHostMatching };
}
function route(name: string, match: Partial<RouteMatch>, prefixRewrite?: string): Route {
  const action = { kind: "route" as const, cluster: "c", timeoutMs: 15000, idleTimeoutMs: 0, ...(prefixRewrite !== undefined ? { prefixRewrite } : {}) };
  return { name, match: { caseSensitive: true, headers: [], ...match }, action, perFilterConfig: new Map() };
}
function req(path: string, extra: [string, string][] = []): HeaderMap {
  return new HeaderMap([[":method", "POST"], [":path", path], [":authority", "gw"], ...extra]);
}

describe("selectVirtualHost (Envoy's domain matching)", () => {
  const hosts = rc([
    vh("exact", ["api.example.com"]),
    vh("star-dot", ["*.example.com"]),
    vh("star-dash", ["*-bar.example.com"]),
    vh("prefix", ["api.*"]),
    vh("prefix-long", ["api.internal.*"]),
    vh("port", ["ports.example.org:8080"]),
    vh("default", ["*"]),
  ]);
  const pick = (host: string | null, config = hosts) => selectVirtualHost(config, host)?.name ?? null;

  it("prefers an exact domain, case-insensitively", () => {
    expect(pick("api.example.com")).toBe("exact");
    expect(pick("API.Example.COM")).toBe("exact");
  });

  it("takes the longest suffix wildcard, which must be shorter than the host", () => {
    expect(pick("foo-bar.example.com")).toBe("star-dash");
    expect(pick("foo.example.com")).toBe("star-dot");
    expect(pick(".example.com")).toBe("default"); // "*.example.com" never matches ".example.com"
  });

  it("tries prefix wildcards after suffix wildcards, longest first", () => {
    expect(pick("api.internal.local")).toBe("prefix-long");
    expect(pick("api.local")).toBe("prefix");
    expect(pick("api.example.com.evil")).toBe("prefix");
  });

  it("keeps the port as part of the host unless ignore_port_in_host_matching is set", () => {
    expect(pick("ports.example.org:8080")).toBe("port");
    expect(pick("api.example.com:443")).toBe("prefix"); // not "exact": the port is kept, "api.*" still matches
    expect(pick("foo.example.com:443")).toBe("default");
    const ignoring = rc(hosts.virtualHosts, true);
    expect(pick("foo.example.com:443", ignoring)).toBe("star-dot");
    expect(pick("api.example.com:443", ignoring)).toBe("exact");
    expect(pick("[::1]:80", rc([vh("v6", ["[::1]"]), vh("d", ["*"])], true))).toBe("v6");
  });

  it("falls back to '*' and returns null when there is none", () => {
    expect(pick("other.org")).toBe("default");
    expect(pick("other.org", rc([vh("exact", ["a.org"])]))).toBeNull();
    // With only "*", the host is not even looked at; otherwise a missing authority finds nothing.
    expect(pick(null, rc([vh("only", ["*"])]))).toBe("only");
    expect(pick(null)).toBeNull();
  });
});

describe("matchRoute", () => {
  const routes = vh("v", ["*"], [
    route("exact", { path: "/v1/models" }),
    route("ci", { prefix: "/V1/Chat", caseSensitive: false }),
    route("hdr", { prefix: "/v1/", headers: [{ name: "x-provider", exact: "anthropic", invert: false }] }),
    route("v1", { prefix: "/v1/" }),
    route("root", { prefix: "/" }),
  ]);
  const name = (h: HeaderMap) => matchRoute(routes, h)?.name ?? null;

  it("takes the first route that matches, comparing paths without the query string", () => {
    expect(name(req("/v1/models"))).toBe("exact");
    expect(name(req("/v1/models?limit=1"))).toBe("exact");
    expect(name(req("/v1/models/gpt"))).toBe("v1");
    expect(name(req("/other"))).toBe("root");
  });

  it("matches case-insensitively when case_sensitive is false, and only then", () => {
    expect(name(req("/v1/chat/completions"))).toBe("ci");
    expect(name(req("/V1/MODELS"))).toBe("root");
  });

  it("requires every header matcher", () => {
    expect(name(req("/v1/messages", [["x-provider", "anthropic"]]))).toBe("hdr");
    expect(name(req("/v1/messages", [["x-provider", "openai"]]))).toBe("v1");
  });

  it("returns null without :path or when nothing matches", () => {
    expect(matchRoute(routes, new HeaderMap([[":authority", "gw"]]))).toBeNull();
    expect(matchRoute(vh("v", ["*"], [route("a", { prefix: "/a" })]), req("/b"))).toBeNull();
  });
});

describe("matchHeader (HeaderUtility::matchHeaders)", () => {
  const m = (x: Partial<HeaderMatcher>): HeaderMatcher => ({ name: "x-h", invert: false, ...x });
  const h = (...values: string[]) => new HeaderMap(values.map((v) => ["x-h", v] as [string, string]));

  it("matches exact, prefix, suffix and contains on the joined value of repeated headers", () => {
    expect(matchHeader(m({ exact: "a,b" }), h("a", "b"))).toBe(true);
    expect(matchHeader(m({ exact: "a" }), h("a", "b"))).toBe(false);
    expect(matchHeader(m({ prefix: "ab" }), h("abc"))).toBe(true);
    expect(matchHeader(m({ suffix: "bc" }), h("abc"))).toBe(true);
    expect(matchHeader(m({ contains: "b" }), h("abc"))).toBe(true);
    expect(matchHeader(m({ contains: "z" }), h("abc"))).toBe(false);
  });

  it("ignores ASCII case only when asked", () => {
    expect(matchHeader(m({ exact: "OpenAI" }), h("openai"))).toBe(false);
    expect(matchHeader(m({ exact: "OpenAI", ignoreCase: true }), h("openai"))).toBe(true);
  });

  it("inverts, but an absent header fails every value matcher, inverted or not", () => {
    expect(matchHeader(m({ exact: "a", invert: true }), h("b"))).toBe(true);
    expect(matchHeader(m({ exact: "a", invert: true }), new HeaderMap())).toBe(false);
    expect(matchHeader(m({ present: true }), new HeaderMap())).toBe(false);
    expect(matchHeader(m({ present: true, invert: true }), new HeaderMap())).toBe(true);
    expect(matchHeader(m({ present: false }), new HeaderMap())).toBe(true);
    expect(matchHeader(m({ present: false }), h("x"))).toBe(false);
  });
});

describe("rewritePath (prefix_rewrite)", () => {
  it("replaces the matched prefix and keeps the rest and the query string", () => {
    const r = route("r", { prefix: "/openai/" }, "/v1/");
    expect(rewritePath(r, "/openai/chat/completions?x=1")).toBe("/v1/chat/completions?x=1");
  });

  it("replaces the whole path of a path match and keeps the query string", () => {
    expect(rewritePath(route("r", { path: "/chat" }, "/v1/chat/completions"), "/chat?stream=true")).toBe("/v1/chat/completions?stream=true");
  });

  it("replaces by length after a case-insensitive match, and leaves paths alone without a rewrite", () => {
    expect(rewritePath(route("r", { prefix: "/api/", caseSensitive: false }, "/"), "/API/models")).toBe("/models");
    expect(rewritePath(route("r", { prefix: "/api/" }), "/api/models")).toBe("/api/models");
  });
});

describe("routes from a loaded bootstrap", () => {
  it("routes with the fixture's virtual hosts and headers", () => {
    const b = parseBootstrap(
      `
static_resources:
  clusters:
  - name: up
    load_assignment:
      cluster_name: up
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }]
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: hcm
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          route_config:
            virtual_hosts:
            - name: llm
              domains: ["llm.local", "llm.local:*"]
              routes:
              - match: { prefix: /, headers: [{ name: X-Team, string_match: { prefix: ML, ignore_case: true } }] }
                route: { cluster: up, prefix_rewrite: /ml/ }
            - name: rest
              domains: ["*"]
              routes: [{ match: { prefix: / }, direct_response: { status: 404 } }]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`,
      "/virtual.yaml",
    );
    const rcfg = b.listeners[0]!.hcm.routeConfig;
    const withHost = (host: string, team?: string) =>
      new HeaderMap([[":path", "/x?y=1"], [":authority", host], ...(team ? ([["x-team", team]] as [string, string][]) : [])]);
    const r = findRoute(rcfg, withHost("llm.local:10000", "ml-platform"));
    expect(r?.action.kind).toBe("route");
    expect(rewritePath(r!, "/x?y=1")).toBe("/ml/x?y=1");
    expect(findRoute(rcfg, withHost("llm.local"))).toBeNull(); // the header matcher fails, and routing stops in that virtual host
    expect(findRoute(rcfg, withHost("other"))?.action).toEqual({ kind: "direct", status: 404, body: null });
  });
});
