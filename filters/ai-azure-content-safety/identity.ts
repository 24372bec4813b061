// Azure managed identity (Kong's azure_use_managed_identity): an Entra ID access token for
// https://cognitiveservices.azure.com, sent as `Authorization: Bearer`. Two documented ways:
// - azure_client_secret set (with azure_tenant_id and azure_client_id): the OAuth 2.0
//   client-credentials grant, POST https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token;
// - otherwise the Azure instance metadata service (a VM's or AKS pod's identity), GET
//   http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…
//   with `Metadata: true` (and `client_id` for a user-assigned identity).
// The token endpoint is called on the cluster named by its authority unless
// azure_identity_cluster names another. One token per worker VM, refreshed five minutes before
// it expires; streams that need it while it is being fetched wait for the one call.

import { HeaderPair } from "../../lib/abi/pairs";
import { ServiceEndpoint, serviceEndpoint } from "../../lib/runtime/service-call";
import { percentEncode } from "../../lib/llm/route/url";
import { getString, isNumberType, parseObject, valueNumber, valueString } from "../../lib/json";

const RESOURCE = "https://cognitiveservices.azure.com";
const SCOPE = RESOURCE + "/.default";
/** Refresh this long before the token expires (ns). */
const REFRESH_MARGIN_NS: u64 = 300 * 1000000000;

export class IdentityConfig {
  endpoint: ServiceEndpoint = new ServiceEndpoint("", "https", "", "/");
  method: string = "GET";
  headers: HeaderPair[] = [];
  body: ArrayBuffer | null = null;
  /** For the audit record and logs (no secret). */
  kind: string = "";
}

/** The token request for the configured identity (`secret` "" = the instance metadata service). */
export function identityConfig(clientId: string, secret: string, tenant: string, cluster: string): IdentityConfig {
  const c = new IdentityConfig();
  if (secret.length > 0) {
    c.kind = "client_credentials";
    c.method = "POST";
    c.endpoint = serviceEndpoint("https", "login.microsoftonline.com", "/" + percentEncode(tenant) + "/oauth2/v2.0/token", cluster);
    c.headers = [new HeaderPair("content-type", "application/x-www-form-urlencoded")];
    const form = "grant_type=client_credentials&client_id=" + percentEncode(clientId) + "&client_secret=" + percentEncode(secret) + "&scope=" + percentEncode(SCOPE);
    c.body = String.UTF8.encode(form);
  } else {
    c.kind = "instance_metadata";
    let path = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + percentEncode(RESOURCE);
    if (clientId.length > 0) path += "&client_id=" + percentEncode(clientId);
    c.endpoint = serviceEndpoint("http", "169.254.169.254", path, cluster);
    c.headers = [new HeaderPair("metadata", "true")];
  }
  return c;
}

/** A token answer: the token and its lifetime (s), or why not. */
export class TokenAnswer {
  token: string = "";
  expiresIn: f64 = 0;
  error: string = "";
}

/** Reads Entra ID's / the metadata service's answer ({"access_token", "expires_in": n or "n"}). */
export function readToken(status: i32, body: Uint8Array): TokenAnswer {
  const a = new TokenAnswer();
  if (status != 200) {
    a.error = status == 0 ? "the token call failed (reset)" : "the token endpoint answered status " + status.toString();
    return a;
  }
  const p = parseObject(body);
  if (p.value == null) {
    a.error = "the token endpoint answered something that is not a JSON object";
    return a;
  }
  const token = getString(p.value!, "access_token");
  const ev = p.value!.get("expires_in");
  let expires: f64 = NaN;
  if (ev != null) {
    if (isNumberType(ev.type)) expires = valueNumber(ev);
    else {
      const s = valueString(ev);
      if (s != null) expires = parseFloat(s);
    }
  }
  if (token == null || token.length == 0 || !(expires > 0)) {
    a.error = "the token endpoint's answer has no access_token or expires_in";
    return a;
  }
  for (let i = 0; i < token.length; i++) {
    const ch = token.charCodeAt(i);
    if (ch < 0x21 || ch > 0x7e) {
      a.error = "the token endpoint's access_token is not a header value";
      return a;
    }
  }
  a.token = token;
  a.expiresIn = expires;
  return a;
}

/** The worker's token, shared by its streams. */
export class TokenCache {
  token: string = "";
  /** Monotonic ns after which the token is refreshed. */
  refreshAt: u64 = 0;
  fetching: bool = false;
  /** Streams waiting for the token in flight. */
  waiters: u32[] = [];

  valid(now: u64): bool {
    return this.token.length > 0 && now < this.refreshAt;
  }

  store(a: TokenAnswer, now: u64): void {
    this.token = a.token;
    const life = <u64>(a.expiresIn * 1e9);
    this.refreshAt = life > REFRESH_MARGIN_NS * 2 ? now + life - REFRESH_MARGIN_NS : now + life / 2;
  }
}
