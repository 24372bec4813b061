// Anthropic API simulator: /v1/messages (JSON and SSE with named events) and the legacy
// /v1/complete, requiring a key (x-api-key or Bearer) and anthropic-version, with Anthropic's error bodies
// ({"type":"error","error":{"type","message"},"request_id"}).
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { bearer, json, objectBody, startSimulator } from "./server.ts";
import { MISSING_MODEL, contentText, countAll, countWords, echo, idFrom, isRecord, pieces, positiveInt, toolInput } from "./model.ts";

export interface AnthropicOptions {
  /** The key accepted in x-api-key (default "sk-ant-test"). */
  apiKey?: string;
  /** Accept only this anthropic-version (default: ANTHROPIC_VERSIONS). */
  version?: string;
  pacing?: Partial<Pacing>;
}

export const ANTHROPIC_DEFAULT_KEY = "sk-ant-test";
/** Versions the API accepts: the long-standing 2023 ones and the one @anthropic-ai/sdk 1.x sends. */
export const ANTHROPIC_VERSIONS = ["2023-06-01", "2023-01-01", "2026-10-21"];

const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };

function requestId(req: SimRequest): string {
  return `req_${idFrom(req.raw + req.path)}`;
}

function anthropicError(status: number, type: string, message: string, req: SimRequest, headers: Record<string, string> = {}): Reply {
  const id = requestId(req);
  return json(status, { type: "error", error: { type, message }, request_id: id }, { "request-id": id, ...headers });
}

const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

function forced(status: number, req: SimRequest): Reply {
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  if (status === 429)
    return anthropicError(429, type, "Number of request tokens has exceeded your per-minute rate limit", req, { "retry-after": "1" });
  if (status === 529) return anthropicError(529, type, "Overloaded", req);
  if (status >= 500) return anthropicError(status, type, "Internal server error", req);
  return anthropicError(status, type, "The request was refused.", req);
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Anthropic's documented ping event is written with a space after the colon. */
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';

type Block = { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: { query: string } };

interface Outcome {
  block: Block;
  stop: "end_turn" | "max_tokens" | "tool_use";
  output: number;
}

function messages(req: SimRequest, body: Record<string, unknown>, model: string): Reply {
  const maxTokens = positiveInt(body["max_tokens"]);
  if (maxTokens === undefined) return anthropicError(400, "invalid_request_error", "max_tokens: Field required", req);
  if (maxTokens === null) return anthropicError(400, "invalid_request_error", "max_tokens: Input should be a valid integer greater than or equal to 1", req);
  const msgs = body["messages"];
  if (msgs === undefined) return anthropicError(400, "invalid_request_error", "messages: Field required", req);
  if (!Array.isArray(msgs)) return anthropicError(400, "invalid_request_error", "messages: Input should be a valid list", req);
  if (msgs.length === 0) return anthropicError(400, "invalid_request_error", "messages: at least one message is required", req);
  for (let i = 0; i < msgs.length; i++) {
    const m: unknown = msgs[i];
    const role = isRecord(m) ? m["role"] : undefined;
    if (role === "system")
      return anthropicError(
        400,
        "invalid_request_error",
        'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.',
        req,
      );
    if (role !== "user" && role !== "assistant")
      return anthropicError(400, "invalid_request_error", `messages.${i}.role: Input should be 'user' or 'assistant'`, req);
  }
  const list = msgs as Record<string, unknown>[];
  const system = body["system"];
  const input = countWords(contentText(system)) + countAll(list.map((m) => contentText(m["content"])));
  const last = list[list.length - 1];
  const lastContent = last["content"];
  const toolResult = Array.isArray(lastContent) && lastContent.some((b) => isRecord(b) && b["type"] === "tool_result");
  const tools = Array.isArray(body["tools"]) ? (body["tools"] as unknown[]) : [];
  const choice = body["tool_choice"];
  const choiceType = isRecord(choice) ? choice["type"] : undefined;
  let out: Outcome;
  if (last["role"] === "user" && !toolResult && tools.length > 0 && choiceType !== "none") {
    const named = isRecord(choice) && choice["type"] === "tool" && typeof choice["name"] === "string" ? choice["name"] : undefined;
    const first = tools[0];
    const name = named ?? (isRecord(first) && typeof first["name"] === "string" ? first["name"] : "tool");
    const toolIn = toolInput(contentText(lastContent));
    out = { block: { type: "tool_use", id: `toolu_${idFrom(req.raw)}`, name, input: toolIn }, stop: "tool_use", output: countWords(JSON.stringify(toolIn)) };
  } else {
    const source = last["role"] === "user" ? last : ([...list].reverse().find((m) => m["role"] === "user") ?? last);
    const e = echo(contentText(source["content"]), maxTokens, contentText(system));
    out = { block: { type: "text", text: e.text }, stop: e.truncated ? "max_tokens" : "end_turn", output: e.completionTokens };
  }
  const id = `msg_${idFrom(req.raw)}`;
  const headers = { "request-id": requestId(req), "anthropic-organization-id": "00000000-0000-0000-0000-000000000000" };
  const usage = (output: number): Record<string, number> => ({ input_tokens: input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: output });
  if (body["stream"] !== true) {
    return json(
      200,
      { id, type: "message", role: "assistant", model, content: [out.block], stop_reason: out.stop, stop_sequence: null, usage: usage(out.output) },
      headers,
    );
  }
  // message_start reports 1 output token; message_delta carries the cumulative total (as documented).
  const events = [
    event("message_start", {
      type: "message_start",
      message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: usage(1) },
    }),
  ];
  if (out.block.type === "text") {
    events.push(event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }), PING);
    for (const p of pieces(out.block.text))
      events.push(event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } }));
  } else {
    const { id: toolId, name } = out.block;
    events.push(event("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "tool_use", id: toolId, name, input: {} } }), PING);
    events.push(event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "" } }));
    for (const p of pieces(JSON.stringify(out.block.input)))
      events.push(event("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: p } }));
  }
  events.push(event("content_block_stop", { type: "content_block_stop", index: 0 }));
  events.push(event("message_delta", { type: "message_delta", delta: { stop_reason: out.stop, stop_sequence: null }, usage: { output_tokens: out.output } }));
  events.push(event("message_stop", { type: "message_stop" }));
  return { kind: "stream", status: 200, headers: { ...SSE_HEADERS, ...headers }, events };
}

/** Legacy Text Completions: prompt must alternate "\n\nHuman:" / "\n\nAssistant:" turns and end on an open Assistant turn. */
function complete(req: SimRequest, body: Record<string, unknown>, model: string): Reply {
  if (!/^claude-(2|instant)/.test(model))
    return anthropicError(400, "invalid_request_error", `"${model}" is not supported on this API. Please use the Messages API instead.`, req);
  const max = positiveInt(body["max_tokens_to_sample"]);
  if (max === undefined) return anthropicError(400, "invalid_request_error", "max_tokens_to_sample: Field required", req);
  if (max === null) return anthropicError(400, "invalid_request_error", "max_tokens_to_sample: Input should be a valid integer", req);
  const prompt = body["prompt"];
  if (typeof prompt !== "string") return anthropicError(400, "invalid_request_error", "prompt: Field required", req);
  const firstHuman = prompt.indexOf("\n\nHuman:");
  if (firstHuman < 0 || prompt.slice(0, firstHuman).includes("\n\nAssistant:"))
    return anthropicError(400, "invalid_request_error", 'prompt must start with "\n\nHuman:" turn after an optional system prompt', req);
  if (!prompt.endsWith("\n\nAssistant:"))
    return anthropicError(400, "invalid_request_error", 'prompt must end with "\n\nAssistant:" turn', req);
  const lastHuman = prompt.lastIndexOf("\n\nHuman:");
  const question = prompt.slice(lastHuman + "\n\nHuman:".length, prompt.length - "\n\nAssistant:".length).trim();
  const e = echo(question, max);
  // The legacy API answers with a leading space after "Assistant:".
  const completion = ` ${e.text}`;
  const stop = e.truncated ? "max_tokens" : "stop_sequence";
  const id = `compl_${idFrom(req.raw)}`;
  const headers = { "request-id": requestId(req) };
  if (body["stream"] !== true)
    return json(200, { type: "completion", id, completion, stop_reason: stop, model, stop: e.truncated ? null : "\n\nHuman:", log_id: id }, headers);
  const events = pieces(completion).map((p) => event("completion", { type: "completion", id, completion: p, stop_reason: null, model, stop: null, log_id: id }));
  events.splice(1, 0, PING);
  events.push(event("completion", { type: "completion", id, completion: "", stop_reason: stop, model, stop: e.truncated ? null : "\n\nHuman:", log_id: id }));
  return { kind: "stream", status: 200, headers: { ...SSE_HEADERS, ...headers }, events };
}

function provider(apiKey: string, versions: readonly string[]): Provider {
  return {
    forcedError: forced,
    // Anthropic's mid-stream error event (e.g. overloaded_error).
    streamError: (message) => event("error", { type: "error", error: { type: "api_error", message } }),
    handle(req) {
      const routes = ["/v1/messages", "/v1/complete"];
      if (req.method !== "POST" || !routes.includes(req.path)) return anthropicError(404, "not_found_error", "Not Found", req);
      // The key comes in x-api-key; @anthropic-ai/sdk 1.x sends it as `Authorization: Bearer` instead.
      const key = req.headers["x-api-key"] ?? bearer(req);
      if (key === undefined) return anthropicError(401, "authentication_error", "x-api-key header is required", req);
      if (key !== apiKey) return anthropicError(401, "authentication_error", "invalid x-api-key", req);
      const version = req.headers["anthropic-version"];
      if (version === undefined) return anthropicError(400, "invalid_request_error", "anthropic-version: header is required", req);
      if (!versions.includes(version)) return anthropicError(400, "invalid_request_error", `anthropic-version: "${version}" is not a valid version`, req);
      const body = objectBody(req);
      if (!body) return anthropicError(400, "invalid_request_error", "There was an error parsing the body of your request", req);
      const model = body["model"];
      if (model === undefined) return anthropicError(400, "invalid_request_error", "model: Field required", req);
      if (typeof model !== "string") return anthropicError(400, "invalid_request_error", "model: Input should be a valid string", req);
      if (model === MISSING_MODEL) return anthropicError(404, "not_found_error", `model: ${model}`, req);
      return req.path === "/v1/messages" ? messages(req, body, model) : complete(req, body, model);
    },
  };
}

export function startAnthropic(opts: AnthropicOptions = {}): Promise<Simulator> {
  const versions = opts.version !== undefined ? [opts.version] : ANTHROPIC_VERSIONS;
  return startSimulator(provider(opts.apiKey ?? ANTHROPIC_DEFAULT_KEY, versions), opts.pacing);
}
