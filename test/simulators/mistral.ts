// Mistral La Plateforme simulator: /v1/chat/completions and /v1/embeddings in the OpenAI-like
// format, with Mistral's differences: usage on the final stream chunk (no stream_options),
// FastAPI-style 422 validation errors, and {"object":"error",…} for an unknown model.
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { bearer, json, objectBody, startSimulator } from "./server.ts";
import type { Flavor } from "./openai-format.ts";
import { chat, embeddings } from "./openai-format.ts";
import { idFrom } from "./model.ts";

export interface MistralOptions {
  /** The key accepted as Bearer token (default "mistral-test-key"). */
  apiKey?: string;
  pacing?: Partial<Pacing>;
}

export const MISTRAL_DEFAULT_KEY = "mistral-test-key";

function validation(type: string, param: string, msg: string, input: unknown): Reply {
  return json(422, { detail: [{ type, loc: ["body", param], msg, input }] });
}

function mistralObjectError(status: number, message: string, type: string, code: string | null): Reply {
  return json(status, { object: "error", message, type, param: null, code });
}

function flavor(req: SimRequest): Flavor {
  const body = objectBody(req);
  return {
    errors: {
      invalidJson: () => json(400, { object: "error", message: "Invalid JSON body", type: "invalid_request_error", param: null, code: null }),
      missing: (param) => validation("missing", param, "Field required", body ?? {}),
      invalid: (param, _message) => validation("value_error", param, `Value error, invalid '${param}'`, body?.[param] ?? null),
      refused: (param, value) => validation("extra_forbidden", param, "Extra inputs are not permitted", value),
      modelNotFound: (model) => mistralObjectError(400, `Invalid model: ${model}`, "invalid_model", "1500"),
    },
    replyModel: (m) => m ?? "",
    requireModel: true,
    streamUsage: "final_chunk",
    contentFilter: false,
    refusedParams: ["top_k", "store", "max_completion_tokens"],
    streamOptions: false,
    embeddingBase64: false,
    headers: () => ({ "x-kong-request-id": idFrom(req.raw + req.path, 32) }),
    chatId: (raw) => idFrom(raw, 32),
    openAIExtras: false,
    usage: (p, c) => ({ prompt_tokens: p, total_tokens: p + c, completion_tokens: c }),
  };
}

function forced(status: number, _req: SimRequest): Reply {
  if (status === 429) return json(429, { message: "Requests rate limit exceeded" });
  if (status === 401) return json(401, { message: "Unauthorized", request_id: idFrom(String(status), 32) });
  if (status >= 500) return mistralObjectError(status, "Internal server error", "internal_server_error", null);
  return mistralObjectError(status, "The request was refused.", "invalid_request_error", null);
}

function provider(apiKey: string): Provider {
  return {
    forcedError: forced,
    handle(req) {
      const key = bearer(req);
      if (key !== apiKey) return json(401, { message: "Unauthorized", request_id: idFrom(req.raw + req.path, 32) });
      const f = flavor(req);
      const body = objectBody(req);
      if (req.method === "POST") {
        if (req.path === "/v1/chat/completions") return chat(req, body, f);
        if (req.path === "/v1/embeddings") return embeddings(req, body, f);
      }
      return json(404, { detail: "Not Found" });
    },
  };
}

export function startMistral(opts: MistralOptions = {}): Promise<Simulator> {
  return startSimulator(provider(opts.apiKey ?? MISTRAL_DEFAULT_KEY), opts.pacing);
}
