// Cohere simulator: v1 /v1/chat (message + chat_history; stream as newline-delimited JSON
// events stream-start, text-generation, stream-end; tools, tool_results and the tool-call
// events: see cohere-tools.ts), v1 /v1/generate, and v2 /v2/embed, with Bearer auth and
// Cohere's error body ({"message": …}; 422 for an unknown field).
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { bearer, json, objectBody, startSimulator } from "./server.ts";
import { MISSING_MODEL, countAll, countWords, echo, embedding, idFrom, isRecord, pieces, positiveInt } from "./model.ts";
import type { CohereCall, CohereResult, CohereTool } from "./cohere-tools.ts";
import { CHAT_FIELDS, checkHistoryEntry, checkResults, checkTools, chooseCalls, invalid, outputsText, plan, slices, unknownKey } from "./cohere-tools.ts";

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
  const unknown = unknownKey(body, CHAT_FIELDS);
  if (unknown) return unknown;
  const message = body["message"];
  if (message !== undefined && typeof message !== "string") return err(400, "invalid request: message must be a string.");
  const history = body["chat_history"] ?? [];
  if (!Array.isArray(history)) return err(400, "invalid request: chat_history must be a list of messages.");
  for (let i = 0; i < history.length; i++) {
    const h: unknown = history[i];
    if (!isRecord(h) || typeof h["role"] !== "string" || !ROLES.has(h["role"]))
      return err(400, `invalid request: chat_history[${i}].role must be one of USER, CHATBOT, SYSTEM or TOOL.`);
    const bad = checkHistoryEntry(h, i);
    if (bad) return bad;
  }
  const turns = history as Record<string, unknown>[];
  let tools: CohereTool[] = [];
  if (body["tools"] !== undefined) {
    const t = checkTools(body["tools"]);
    if ("kind" in t) return t;
    tools = t;
  }
  let results: CohereResult[] = [];
  if (body["tool_results"] !== undefined) {
    const r = checkResults(body["tool_results"], "tool_results");
    if ("kind" in r) return r;
    results = r;
  }
  const text = typeof message === "string" ? message : "";
  if (results.length > 0) {
    if (tools.length === 0) return invalid("tools must be specified when tool_results are given.");
    if (text !== "" && body["force_single_step"] !== true) return invalid("cannot specify both message and tool_results in multistep mode");
    const names = new Set(tools.map((t) => t.name));
    const stray = results.find((r) => !names.has(r.call.name));
    if (stray) return invalid(`tool_results: '${stray.call.name}' is not one of the tools.`);
  } else if (countWords(text) === 0) {
    return err(400, "invalid request: message must be at least 1 token long or tool results must be specified.");
  }
  const maxTokens = positiveInt(body["max_tokens"]);
  if (maxTokens === null) return err(400, "invalid request: max_tokens must be a positive integer.");
  const preamble = typeof body["preamble"] === "string" ? body["preamble"] : "";
  const historyText = turns.map((t) => (t["role"] === "TOOL" ? outputsText(checkResults(t["tool_results"] ?? [], "") as CohereResult[]) : String(t["message"])));
  const input = countWords(preamble) + countAll(historyText) + countWords(text) + countWords(outputsText(results));
  const generationId = idFrom(`gen:${req.raw}`, 32);
  const responseId = idFrom(`resp:${req.raw}`, 32);
  const stream = body["stream"] === true;

  const calls = results.length === 0 ? chooseCalls(tools, text) : [];
  if (calls.length > 0) return toolCallsReply(generationId, responseId, turns, text, calls, input, stream);

  const e = echo(results.length > 0 ? outputsText(results) : text, maxTokens, preamble);
  const finish = e.truncated ? "MAX_TOKENS" : "COMPLETE";
  const asked = results.length > 0 ? { role: "TOOL", tool_results: results } : { role: "USER", message: text };
  const response = {
    response_id: responseId,
    text: e.text,
    generation_id: generationId,
    chat_history: [...turns, asked, { role: "CHATBOT", message: e.text }],
    finish_reason: finish,
    meta: meta(input, e.completionTokens),
  };
  if (!stream) return json(200, response);
  const events = [line({ is_finished: false, event_type: "stream-start", generation_id: generationId })];
  for (const p of pieces(e.text)) events.push(line({ is_finished: false, event_type: "text-generation", text: p }));
  events.push(line({ is_finished: true, event_type: "stream-end", response, finish_reason: finish }));
  return { kind: "stream", status: 200, headers: STREAM_HEADERS, events };
}

/**
 * The model calls tools: `text` is its plan, `tool_calls` the calls, finish_reason COMPLETE.
 * Streamed: the plan as tool-calls-chunk text pieces, each call as a chunk with its index and
 * name then chunks of its parameters' JSON, tool-calls-generation with all calls, stream-end.
 */
function toolCallsReply(generationId: string, responseId: string, turns: unknown[], message: string, calls: CohereCall[], input: number, stream: boolean): Reply {
  const text = plan(calls);
  const output = countWords(text) + countAll(calls.map((c) => JSON.stringify(c.parameters)));
  const response = {
    response_id: responseId,
    text,
    generation_id: generationId,
    chat_history: [...turns, { role: "USER", message }, { role: "CHATBOT", message: text, tool_calls: calls }],
    finish_reason: "COMPLETE",
    tool_calls: calls,
    meta: meta(input, output),
  };
  if (!stream) return json(200, response);
  const chunk = (delta: Record<string, unknown>): string => line({ is_finished: false, event_type: "tool-calls-chunk", tool_call_delta: delta });
  const events = [line({ is_finished: false, event_type: "stream-start", generation_id: generationId })];
  for (const p of pieces(text)) events.push(chunk({ text: p }));
  calls.forEach((c, index) => {
    events.push(chunk({ index, name: c.name }));
    for (const s of slices(JSON.stringify(c.parameters))) events.push(chunk({ index, parameters: s }));
  });
  events.push(line({ is_finished: false, event_type: "tool-calls-generation", text, tool_calls: calls }));
  events.push(line({ is_finished: true, event_type: "stream-end", response, finish_reason: "COMPLETE" }));
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
    streamError: (message) => JSON.stringify({ error: message }) + "\n",
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
