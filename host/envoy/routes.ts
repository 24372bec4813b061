// Route selection as Envoy's RouteMatcher does it (source/common/router/config_impl.cc):
//
// Virtual host (findVirtualHost): the Host/:authority value, lower-cased, is looked up
//  1. exactly among the domains;
//  2. among suffix wildcards ("*.example.com", "*-bar.example.com"), longest first, each
//     only if shorter than the host (so "*.foo.com" never matches ".foo.com");
//  3. among prefix wildcards ("example.*"), longest first;
//  4. then the "*" virtual host, if any.
// The port is part of the host: "example.com:8080" does not match "example.com" unless the
// route_config sets ignore_port_in_host_matching. With only a "*" virtual host, it is chosen
// without looking at the host at all.
//
// Route (first match wins): the header matchers (repeated headers are joined with ","),
// then the path without its query string and fragment against `prefix` (starts with) or
// `path` (equals), ASCII case-insensitively when case_sensitive is false.

import type { HeaderMatcher, Route, RouteConfiguration, VirtualHost } from "./bootstrap-types.ts";
import type { HeaderMap } from "../http/header-map.ts";

const lower = (s: string) => s.replace(/[A-Z]/g, (c) => c.toLowerCase()); // absl::AsciiStrToLower

/** Http::HeaderUtility::getPortStart: where ":port" begins, or -1 (IPv6 literals are bracketed). */
function portStart(host: string): number {
  const colon = host.lastIndexOf(":");
  if (colon < 0) return -1;
  const v6End = host.lastIndexOf("]");
  if (v6End >= 0 && v6End > colon) return -1;
  return /^\d+$/.test(host.slice(colon + 1)) ? colon : -1;
}

/** A route configuration's domains, indexed once (Envoy's RouteMatcher builds these at load). */
interface VirtualHostIndex {
  fallback: VirtualHost | null;
  exact: Map<string, VirtualHost>;
  /** Longest wildcard first; a stable sort keeps config order among equal lengths. */
  suffixes: [string, VirtualHost][];
  prefixes: [string, VirtualHost][];
}

const indexes = new WeakMap<RouteConfiguration, VirtualHostIndex>();

function indexOf(rc: RouteConfiguration): VirtualHostIndex {
  let ix = indexes.get(rc);
  if (ix !== undefined) return ix;
  ix = { fallback: null, exact: new Map(), suffixes: [], prefixes: [] };
  for (const vh of rc.virtualHosts) {
    for (const d of vh.domains.map(lower)) {
      if (d === "*") ix.fallback ??= vh;
      else if (d.startsWith("*")) ix.suffixes.push([d.slice(1), vh]);
      else if (d.endsWith("*")) ix.prefixes.push([d.slice(0, -1), vh]);
      else if (!ix.exact.has(d)) ix.exact.set(d, vh);
    }
  }
  ix.suffixes.sort((a, b) => b[0].length - a[0].length);
  ix.prefixes.sort((a, b) => b[0].length - a[0].length);
  indexes.set(rc, ix);
  return ix;
}

/** RouteMatcher::findVirtualHost: exact domain, then the longest `*suffix`, then the longest `prefix*`, then `*`. */
export function selectVirtualHost(rc: RouteConfiguration, authority: string | null): VirtualHost | null {
  const { fallback, exact, suffixes, prefixes } = indexOf(rc);
  if (exact.size === 0 && suffixes.length === 0 && prefixes.length === 0) return fallback;
  if (authority === null) return null; // no authority: Envoy finds no virtual host
  let host = authority;
  if (rc.ignorePortInHostMatching) {
    const p = portStart(host);
    if (p >= 0) host = host.slice(0, p);
  }
  host = lower(host);
  const hit = exact.get(host);
  if (hit) return hit;
  for (const [suffix, vh] of suffixes) if (suffix.length < host.length && host.endsWith(suffix)) return vh;
  for (const [prefix, vh] of prefixes) if (prefix.length < host.length && host.startsWith(prefix)) return vh;
  return fallback;
}

/** Http::PathUtil::removeQueryAndFragment. */
export function stripQuery(path: string): string {
  const i = path.search(/[?#]/);
  return i < 0 ? path : path.slice(0, i);
}

/** HeaderUtility::matchHeaders for one matcher. */
export function matchHeader(m: HeaderMatcher, headers: HeaderMap): boolean {
  const values = headers.getAll(m.name);
  if (values.length === 0) {
    // A missing header matches only a presence test: present_match: true inverted, or false.
    const isPresence = m.present !== undefined;
    return m.invert ? isPresence && m.present === true : isPresence && m.present === false;
  }
  const value = values.join(",");
  let match: boolean;
  if (m.present !== undefined) match = m.present;
  else {
    const v = m.ignoreCase ? lower(value) : value;
    const k = (s: string) => (m.ignoreCase ? lower(s) : s);
    if (m.exact !== undefined) match = v === k(m.exact);
    else if (m.prefix !== undefined) match = v.startsWith(k(m.prefix));
    else if (m.suffix !== undefined) match = v.endsWith(k(m.suffix));
    else if (m.contains !== undefined) match = v.includes(k(m.contains));
    else match = true;
  }
  return match !== m.invert;
}

function matchPath(route: Route, path: string): boolean {
  const p = stripQuery(path);
  const { prefix, path: exact, caseSensitive } = route.match;
  if (prefix !== undefined) return caseSensitive ? p.startsWith(prefix) : lower(p).startsWith(lower(prefix));
  if (exact !== undefined) return caseSensitive ? p === exact : lower(p) === lower(exact);
  return false;
}

export function matchRoute(vhost: VirtualHost, headers: HeaderMap): Route | null {
  const path = headers.get(":path");
  if (path === null) return null; // only CONNECT routes work without :path; we have none
  for (const route of vhost.routes) {
    if (!route.match.headers.every((m) => matchHeader(m, headers))) continue;
    if (matchPath(route, path)) return route;
  }
  return null;
}

/** Both steps, as the router does: the virtual host from :authority, then the route. */
export function findRoute(rc: RouteConfiguration, headers: HeaderMap): Route | null {
  const vh = selectVirtualHost(rc, headers.get(":authority"));
  return vh ? matchRoute(vh, headers) : null;
}

/**
 * prefix_rewrite: the matched part of the path (the prefix, or the whole path for a `path`
 * match) is replaced; whatever follows, including the query string, is kept. Without a
 * prefix_rewrite the path is returned unchanged.
 */
export function rewritePath(route: Route, path: string): string {
  if (route.action.kind !== "route" || !route.action.prefixRewrite) return path;
  const matched = route.match.prefix ?? route.match.path ?? "";
  return route.action.prefixRewrite + path.slice(matched.length);
}
