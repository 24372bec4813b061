// OpenAI API simulator: /v1/chat/completions, /v1/completions, /v1/embeddings with Bearer auth
// and OpenAI's error bodies ({"error":{"message","type","param","code"}}).
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { bearer, json, objectBody, startSimulator } from "./server.ts";
import type { Flavor, OpenAIErrors } from "./openai-format.ts";
import { chat, completions, embeddings, openAIUsage } from "./openai-format.ts";
import { idFrom } from "./model.ts";

export interface OpenAIOptions {
  /** The key the simulator accepts (default "sk-test-openai"). */
  apiKey?: string;
  pacing?: Partial<Pacing>;
}

export const OPENAI_DEFAULT_KEY = "sk-test-openai";

function openAIError(status: number, message: string, type: string, param: string | null, code: string | null, req: SimRequest): Reply {
  return json(status, { error: { message, type, param, code } }, { "x-request-id": `req_${idFrom(req.raw + req.path)}` });
}

/** Masks a key the way OpenAI prints it in its 401 message. */
function maskKey(key: string): string {
  return key.length <= 8 ? key : `${key.slice(0, 3)}${"*".repeat(Math.min(key.length - 7, 20))}${key.slice(-4)}`;
}

function errorsFor(req: SimRequest): OpenAIErrors {
  return {
    invalidJson: () =>
      openAIError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
        "invalid_request_error",
        null,
        null,
        req,
      ),
    missing: (param) =>
      param === "model"
        ? openAIError(400, "you must provide a model parameter", "invalid_request_error", null, null, req)
        : openAIError(400, `Missing required parameter: '${param}'.`, "invalid_request_error", param, "missing_required_parameter", req),
    invalid: (param, message, code = null) => openAIError(400, message, "invalid_request_error", param, code, req),
    refused: (param) => openAIError(400, `Unrecognized request argument supplied: ${param}`, "invalid_request_error", null, null, req),
    modelNotFound: (model) =>
      openAIError(404, `The model \`${model}\` does not exist or you do not have access to it.`, "invalid_request_error", null, "model_not_found", req),
  };
}

export function openAIFlavor(req: SimRequest): Flavor {
  return {
    errors: errorsFor(req),
    replyModel: (m) => m ?? "",
    requireModel: true,
    streamUsage: "on_request",
    contentFilter: false,
    refusedParams: ["top_k"],
    streamOptions: true,
    embeddingBase64: true,
    headers: () => ({ "x-request-id": `req_${idFrom(req.raw + req.path)}`, "openai-version": "2020-10-01", "openai-processing-ms": "1" }),
    chatId: (raw) => `chatcmpl-${idFrom(raw)}`,
    openAIExtras: true,
    usage: openAIUsage,
  };
}

/** The error OpenAI returns for a status forced with failNext. */
export function openAIForced(status: number, req: SimRequest): Reply {
  if (status === 429)
    return openAIError(
      429,
      "Rate limit reached for requests in organization org-simulator on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s.",
      "requests",
      null,
      "rate_limit_exceeded",
      req,
    );
  if (status === 503) return openAIError(503, "The engine is currently overloaded, please try again later.", "server_error", null, null, req);
  if (status >= 500)
    return openAIError(status, "The server had an error while processing your request. Sorry about that!", "server_error", null, null, req);
  if (status === 401) return openAIError(401, "Incorrect API key provided.", "invalid_request_error", null, "invalid_api_key", req);
  return openAIError(status, "The request was refused.", "invalid_request_error", null, null, req);
}

export function openAIProvider(apiKey: string): Provider {
  return {
    forcedError: openAIForced,
    handle(req) {
      const key = bearer(req);
      if (key === undefined)
        return openAIError(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
          "invalid_request_error",
          null,
          null,
          req,
        );
      if (key !== apiKey)
        return openAIError(
          401,
          `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          "invalid_request_error",
          null,
          "invalid_api_key",
          req,
        );
      const f = openAIFlavor(req);
      const body = objectBody(req);
      if (req.method === "POST") {
        if (req.path === "/v1/chat/completions") return chat(req, body, f);
        if (req.path === "/v1/completions") return completions(req, body, f);
        if (req.path === "/v1/embeddings") return embeddings(req, body, f);
      }
      return openAIError(404, `Invalid URL (${req.method} ${req.path})`, "invalid_request_error", null, null, req);
    },
  };
}

export function startOpenAI(opts: OpenAIOptions = {}): Promise<Simulator> {
  return startSimulator(openAIProvider(opts.apiKey ?? OPENAI_DEFAULT_KEY), opts.pacing);
}
