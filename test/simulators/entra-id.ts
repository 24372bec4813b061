// Microsoft Entra ID token endpoints, as documented, for managed-identity tests:
// - the Azure instance metadata service: GET /metadata/identity/oauth2/token?api-version=2018-02-01
//   &resource=…[&client_id=…] with `Metadata: true` → {access_token, expires_in: "86399" (a
//   string), expires_on, resource, token_type: "Bearer", …};
// - the v2.0 token endpoint: POST /<tenant>/oauth2/v2.0/token, form-encoded client-credentials
//   grant (grant_type, client_id, client_secret, scope) → {token_type, expires_in: 3599, access_token}.
// Errors are OAuth's {"error","error_description"}.
import type { Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { json, startSimulator } from "./server.ts";

export interface EntraIdOptions {
  /** The token handed out (default "entra-test-token"). */
  token?: string;
  tenant?: string;
  clientId?: string;
  clientSecret?: string;
  /** Lifetime in seconds (default 3599; the metadata service's default is 86399). */
  expiresIn?: number;
}

function oauthError(status: number, error: string, description: string): Reply {
  return json(status, { error, error_description: description });
}

export async function startEntraId(o: EntraIdOptions = {}): Promise<Simulator> {
  const token = o.token ?? "entra-test-token";
  const tenant = o.tenant ?? "tenant-1";
  const clientId = o.clientId ?? "client-1";
  const secret = o.clientSecret ?? "client-secret-1";
  const expiresIn = o.expiresIn ?? 3599;
  const handle = (req: SimRequest): Reply => {
    if (req.path === "/metadata/identity/oauth2/token") {
      if (req.method !== "GET") return oauthError(405, "invalid_request", "Only GET is supported.");
      if (req.headers["metadata"] !== "true") return oauthError(400, "invalid_request", "Required metadata header not specified");
      if (!req.query.get("api-version")) return oauthError(400, "invalid_request", "Required query variable 'api-version' is missing");
      const resource = req.query.get("resource");
      if (!resource) return oauthError(400, "invalid_request", "Required query variable 'resource' is missing");
      const cid = req.query.get("client_id");
      if (cid !== null && cid !== clientId) return oauthError(400, "invalid_request", "Identity not found");
      const now = Math.floor(Date.now() / 1000);
      return json(200, { access_token: token, client_id: clientId, expires_in: String(expiresIn), expires_on: String(now + expiresIn), ext_expires_in: String(expiresIn), not_before: String(now), resource, token_type: "Bearer" });
    }
    if (req.path === `/${tenant}/oauth2/v2.0/token`) {
      if (req.method !== "POST") return oauthError(405, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.");
      if (!(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return oauthError(400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'grant_type'.");
      const form = new URLSearchParams(req.raw);
      if (form.get("grant_type") !== "client_credentials") return oauthError(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
      if (form.get("client_id") !== clientId) return oauthError(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.");
      if (form.get("client_secret") !== secret) return oauthError(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
      if (!(form.get("scope") ?? "").endsWith("/.default")) return oauthError(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.");
      return json(200, { token_type: "Bearer", expires_in: expiresIn, ext_expires_in: expiresIn, access_token: token });
    }
    return oauthError(404, "invalid_request", "Not found");
  };
  const provider: Provider = { handle, forcedError: (status) => oauthError(status, "temporarily_unavailable", "The service is temporarily unavailable.") };
  return startSimulator(provider);
}
