// Cohere simulator: v1 /v1/chat (message + chat_history; stream as newline-delimited JSON
// events stream-start, text-generation, stream-end), v1 /v1/generate, and v2 /v2/embed,
// with Bearer auth and Cohere's error body ({"message": …}).
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { bearer, json, objectBody, startSimulator } from "./server.ts";
import { MISSING_MODEL, countAll, countWords, echo, embedding, idFrom, isRecord, pieces, positiveInt } from "./model.ts";

export interface CohereOptions {
  /** The key accepted as Bearer token (default "cohere-test-key"). */
  apiKey?: string;
  pacing?: Partial<Pacing>;
}

export const COHERE_DEFAULT_KEY = "cohere-test-key";

/**
 * Cohere bills the user's words but counts its prompt template too: meta.tokens.input_tokens
 * is billed_units.input_tokens plus this fixed overhead (Cohere's own example: 3 billed, 69 counted).
 */
export const COHERE_TEMPLATE_TOKENS = 64;

/** Cohere v1 streams newline-delimited JSON, not SSE. */
const STREAM_HEADERS = { "content-type": "application/stream+json" };

const ROLES = new Set(["USER", "CHATBOT", "SYSTEM", "TOOL"]);

function err(status: number, message: string): Reply {
  return json(status, { message });
}

function forced(status: number, _req: SimRequest): Reply {
  if (status === 429) return err(429, "You are past the per minute request limit, please wait and try again later.");
  if (status === 401) return err(401, "invalid api token");
  if (status >= 500) return err(status, "internal server error, this has been reported to our developers");
  return err(status, "invalid request");
}

function line(obj: unknown): string {
  return `${JSON.stringify(obj)}\n`;
}

function meta(input: number, output: number): Record<string, unknown> {
  return {
    api_version: { version: "1" },
    billed_units: { input_tokens: input, output_tokens: output },
    tokens: { input_tokens: input + COHERE_TEMPLATE_TOKENS, output_tokens: output },
  };
}

function chat(req: SimRequest, body: Record<string, unknown>): Reply {
  const message = body["message"];
  if (typeof message !== "string" || countWords(message) === 0)
    return err(400, "invalid request: message must be at least 1 token long or tool results must be specified.");
  const history = body["chat_history"] ?? [];
  if (!Array.isArray(history)) return err(400, "invalid request: chat_history must be a list of messages.");
  const turns: { role: string; message: string }[] = [];
  for (let i = 0; i < history.length; i++) {
    const h: unknown = history[i];
    if (!isRecord(h) || typeof h["role"] !== "string" || !ROLES.has(h["role"]))
      return err(400, `invalid request: chat_history[${i}].role must be one of USER, CHATBOT, SYSTEM or TOOL.`);
    turns.push({ role: h["role"], message: typeof h["message"] === "string" ? h["message"] : "" });
  }
  const maxTokens = positiveInt(body["max_tokens"]);
  if (maxTokens === null) return err(400, "invalid request: max_tokens must be a positive integer.");
  const preamble = typeof body["preamble"] === "string" ? body["preamble"] : "";
  const input = countWords(preamble) + countAll(turns.map((t) => t.message)) + countWords(message);
  const e = echo(message, maxTokens);
  const finish = e.truncated ? "MAX_TOKENS" : "COMPLETE";
  const generationId = idFrom(`gen:${req.raw}`, 32);
  const response = {
    response_id: idFrom(`resp:${req.raw}`, 32),
    text: e.text,
    generation_id: generationId,
    chat_history: [...turns, { role: "USER", message }, { role: "CHATBOT", message: e.text }],
    finish_reason: finish,
    meta: meta(input, e.completionTokens),
  };
  if (body["stream"] !== true) return json(200, response);
  const events = [line({ is_finished: false, event_type: "stream-start", generation_id: generationId })];
  for (const p of pieces(e.text)) events.push(line({ is_finished: false, event_type: "text-generation", text: p }));
  events.push(line({ is_finished: true, event_type: "stream-end", response, finish_reason: finish }));
  return { kind: "stream", status: 200, headers: STREAM_HEADERS, events };
}

function generate(req: SimRequest, body: Record<string, unknown>): Reply {
  const prompt = body["prompt"];
  if (typeof prompt !== "string" || countWords(prompt) === 0) return err(400, "invalid request: prompt must be at least 1 token long.");
  const maxTokens = positiveInt(body["max_tokens"]);
  if (maxTokens === null) return err(400, "invalid request: max_tokens must be a positive integer.");
  const e = echo(prompt, maxTokens);
  const finish = e.truncated ? "MAX_TOKENS" : "COMPLETE";
  const id = idFrom(`gen:${req.raw}`, 32);
  const generation = { id: idFrom(`g0:${req.raw}`, 32), text: e.text, finish_reason: finish };
  const m = { api_version: { version: "1" }, billed_units: { input_tokens: countWords(prompt), output_tokens: e.completionTokens } };
  if (body["stream"] !== true) return json(200, { id, generations: [generation], prompt, meta: m });
  const events = pieces(e.text).map((p) => line({ text: p, is_finished: false }));
  events.push(line({ is_finished: true, finish_reason: finish, response: { id, generations: [generation], prompt, meta: m } }));
  return { kind: "stream", status: 200, headers: STREAM_HEADERS, events };
}

function embed(req: SimRequest, body: Record<string, unknown>): Reply {
  if (typeof body["model"] !== "string") return err(400, "invalid request: model must be specified.");
  if (typeof body["input_type"] !== "string")
    return err(400, "invalid request: valid input_type must be provided with the provided model");
  const texts = body["texts"];
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === "string"))
    return err(400, "invalid request: texts must be a list of strings.");
  const types = body["embedding_types"] ?? ["float"];
  if (!Array.isArray(types) || !types.includes("float"))
    return err(400, "invalid request: this simulator only produces float embeddings; embedding_types must include \"float\".");
  const list = texts as string[];
  return json(200, {
    id: idFrom(`embed:${req.raw}`, 32),
    embeddings: { float: list.map((t) => embedding(t)) },
    texts: list,
    meta: { api_version: { version: "2" }, billed_units: { input_tokens: countAll(list) } },
    response_type: "embeddings_by_type",
  });
}

function provider(apiKey: string): Provider {
  return {
    forcedError: forced,
    handle(req) {
      const key = bearer(req);
      if (key === undefined) return err(401, "no api key supplied");
      if (key !== apiKey) return err(401, "invalid api token");
      const routes: Record<string, (r: SimRequest, b: Record<string, unknown>) => Reply> = { "/v1/chat": chat, "/v1/generate": generate, "/v2/embed": embed };
      const route = req.method === "POST" ? routes[req.path] : undefined;
      if (!route) return err(404, "Not Found");
      const body = objectBody(req);
      if (!body) return err(400, "invalid request: could not parse the request body as JSON.");
      if (body["model"] === MISSING_MODEL)
        return err(404, `model '${MISSING_MODEL}' not found, make sure the correct model ID was used and that you have access to the model.`);
      return route(req, body);
    },
  };
}

export function startCohere(opts: CohereOptions = {}): Promise<Simulator> {
  return startSimulator(provider(opts.apiKey ?? COHERE_DEFAULT_KEY), opts.pacing);
}
