// The parts of an upstream LLM request that come from the LLM record rather than from a
// client: the query (the provider's defaults, then the credential when auth.param_location is
// "query"), the headers (the credential header and the provider's own) and the credential as a
// body member. ai-proxy applies them to the client's request; the transformers build their
// side call from them, so both reach a provider alike.

import { Header, Provider, RouteType, UpstreamTarget } from "../provider";
import { withStringMember } from "../json-scan";
import { AuthConfig } from "./config";
import { addDefault, hasParam, percentEncode, setParam } from "./url";

/** `query` with the target's defaults added and the query credential set (the client's kept only with allow_override). */
export function upstreamQuery(t: UpstreamTarget, query: Header[], a: AuthConfig): Header[] {
  for (let i = 0; i < t.query.length; i++) addDefault(query, unchecked(t.query[i]).name, unchecked(t.query[i]).value);
  if (a.paramLocation == "query" && !(a.allowOverride && hasParam(query, a.paramName))) {
    query = setParam(query, a.paramName, percentEncode(a.paramValue));
  }
  return query;
}

/** The headers a side call to the LLM carries: the credential header, the provider's headers, JSON. */
export function llmCallHeaders(provider: Provider, route: RouteType, a: AuthConfig): Header[] {
  const out = new Array<Header>();
  if (a.headerName.length > 0) out.push(new Header(a.headerName, a.headerValue));
  const ph = provider.requestHeaders(route);
  for (let i = 0; i < ph.length; i++) out.push(unchecked(ph[i]));
  out.push(new Header("content-type", "application/json"));
  return out;
}

/** `body` with the credential as a top-level member when auth.param_location is "body". */
export function withBodyCredential(body: Uint8Array, a: AuthConfig): Uint8Array {
  if (a.paramLocation != "body") return body;
  const out = withStringMember(body, a.paramName, a.paramValue, a.allowOverride);
  return out != null ? out : body;
}
