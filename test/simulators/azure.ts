// Azure OpenAI simulator: /openai/deployments/{deployment}/chat/completions|completions|embeddings
// with a required api-version query argument, the api-key header (or an Entra Bearer token),
// content-filter annotations, and Azure's error bodies ({"error":{"code","message"}}).
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { bearer, json, objectBody, startSimulator } from "./server.ts";
import type { Flavor } from "./openai-format.ts";
import { chat, completions, embeddings, openAIUsage } from "./openai-format.ts";
import { idFrom } from "./model.ts";

export interface AzureOptions {
  /** The key accepted in the api-key header (default "azure-test-key"). */
  apiKey?: string;
  /** The one deployment that exists (default "gpt-4o-mini"). */
  deployment?: string;
  /** The model behind the deployment, named in replies (default "gpt-4o-mini"). */
  model?: string;
  /** Accept only this api-version (default: a list of released versions, AZURE_API_VERSIONS). */
  apiVersion?: string;
  /** Also accept `Authorization: Bearer <token>` with this token (Entra ID / managed identity). */
  bearerToken?: string;
  pacing?: Partial<Pacing>;
}

export const AZURE_DEFAULT_KEY = "azure-test-key";

/** Released data-plane versions the simulator knows (GA and preview). */
export const AZURE_API_VERSIONS = [
  "2023-05-15",
  "2023-06-01-preview",
  "2024-02-01",
  "2024-02-15-preview",
  "2024-06-01",
  "2024-08-01-preview",
  "2024-10-21",
  "2024-12-01-preview",
  "2025-01-01-preview",
  "2025-03-01-preview",
  "2025-04-01-preview",
];

const DENIED =
  "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.";

function azureError(status: number, code: string, message: string, req: SimRequest, headers: Record<string, string> = {}): Reply {
  return json(status, { error: { code, message } }, { "apim-request-id": idFrom(req.raw + req.path, 32), ...headers });
}

/** Validation errors in the body come back in OpenAI's shape, as Azure forwards them from the model service. */
function bodyError(status: number, message: string, param: string | null, code: string | null, req: SimRequest): Reply {
  return json(status, { error: { message, type: "invalid_request_error", param, code } }, { "apim-request-id": idFrom(req.raw + req.path, 32) });
}

function flavor(req: SimRequest, model: string): Flavor {
  return {
    errors: {
      invalidJson: () => bodyError(400, "Invalid JSON body.", null, null, req),
      missing: (param) => bodyError(400, `'${param}' is a required property`, param, null, req),
      invalid: (param, message, code = null) => bodyError(400, message, param, code, req),
      refused: (param) => bodyError(400, `Unrecognized request argument supplied: ${param}`, null, null, req),
      modelNotFound: (m) => azureError(404, "DeploymentNotFound", `The API deployment for this resource does not exist. (${m})`, req),
    },
    replyModel: () => model,
    requireModel: false,
    streamUsage: "on_request",
    contentFilter: true,
    refusedParams: ["top_k"],
    streamOptions: true,
    embeddingBase64: true,
    headers: () => ({ "apim-request-id": idFrom(req.raw + req.path, 32), "x-ms-region": "Sim Region", "x-ratelimit-remaining-requests": "99" }),
    chatId: (raw) => `chatcmpl-${idFrom(raw)}`,
    openAIExtras: true,
    usage: openAIUsage,
  };
}

function forced(status: number, req: SimRequest): Reply {
  if (status === 429)
    return azureError(
      429,
      "429",
      `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${req.query.get("api-version") ?? "unknown"} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
      req,
      { "retry-after": "1", "retry-after-ms": "1000" },
    );
  if (status === 401) return azureError(401, "401", DENIED, req);
  if (status >= 500) return azureError(status, "InternalServerError", "The server had an error processing your request.", req);
  return azureError(status, String(status), "The request was refused.", req);
}

const ROUTE = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/;

function provider(o: Required<Omit<AzureOptions, "pacing" | "apiVersion" | "bearerToken">> & Pick<AzureOptions, "apiVersion" | "bearerToken">): Provider {
  const versions = o.apiVersion !== undefined ? [o.apiVersion] : AZURE_API_VERSIONS;
  return {
    forcedError: forced,
    handle(req) {
      const m = ROUTE.exec(req.path);
      const version = req.query.get("api-version");
      if (!m || req.method !== "POST" || version === null) return azureError(404, "404", "Resource not found", req);
      const key = req.headers["api-key"];
      const token = bearer(req);
      const authed = key !== undefined ? key === o.apiKey : token !== undefined && o.bearerToken !== undefined && token === o.bearerToken;
      if (!authed) {
        if (key === undefined && token !== undefined)
          return azureError(401, "PermissionDenied", "Principal does not have access to API/Operation.", req);
        return azureError(401, "401", DENIED, req);
      }
      if (!versions.includes(version)) return azureError(400, "BadRequest", "API version not supported", req);
      const deployment = decodeURIComponent(m[1]);
      if (deployment !== o.deployment)
        return azureError(
          404,
          "DeploymentNotFound",
          "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
          req,
        );
      const f = flavor(req, o.model);
      const body = objectBody(req);
      if (m[2] === "chat/completions") return chat(req, body, f);
      if (m[2] === "completions") return completions(req, body, f);
      return embeddings(req, body, f);
    },
  };
}

export function startAzure(opts: AzureOptions = {}): Promise<Simulator> {
  const deployment = opts.deployment ?? "gpt-4o-mini";
  return startSimulator(
    provider({
      apiKey: opts.apiKey ?? AZURE_DEFAULT_KEY,
      deployment,
      model: opts.model ?? "gpt-4o-mini",
      apiVersion: opts.apiVersion,
      bearerToken: opts.bearerToken,
    }),
    opts.pacing,
  );
}
