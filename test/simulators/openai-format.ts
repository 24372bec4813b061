// The OpenAI wire format (chat completions, legacy completions, embeddings), shared by the
// OpenAI, Azure OpenAI and Mistral simulators. Each passes a Flavor with its own errors and
// the few places where its format differs from OpenAI's.
import type { Reply, SimRequest } from "./server.ts";
import { json } from "./server.ts";
import {
  CREATED,
  MISSING_MODEL,
  contentText,
  countAll,
  countWords,
  echo,
  embedding,
  embeddingBase64,
  idFrom,
  isRecord,
  pieces,
  positiveInt,
  toolInput,
} from "./model.ts";

export interface OpenAIErrors {
  invalidJson(): Reply;
  /** A required parameter is absent. */
  missing(param: string): Reply;
  /** A parameter is present but invalid. */
  invalid(param: string, message: string, code?: string | null): Reply;
  /** A parameter the provider refuses outright (OpenAI: unrecognized argument; Mistral: extra_forbidden). */
  refused(param: string, value: unknown): Reply;
  modelNotFound(model: string): Reply;
}

export interface Flavor {
  errors: OpenAIErrors;
  /** The model named in replies, from the request's `model` (Azure: the deployment's model). */
  replyModel(requested: string | undefined): string;
  /** OpenAI and Mistral need `model` in the body; Azure takes it from the deployment. */
  requireModel: boolean;
  /** OpenAI/Azure: a usage chunk with empty choices, only when stream_options.include_usage. Mistral: usage on the final chunk, always. */
  streamUsage: "on_request" | "final_chunk";
  /** Azure's prompt_filter_results / content_filter_results annotations. */
  contentFilter: boolean;
  /** Parameters refused by the provider. */
  refusedParams: readonly string[];
  /** Whether stream_options is known (and refused without stream: true). */
  streamOptions: boolean;
  /** Whether encoding_format "base64" is honoured for embeddings. */
  embeddingBase64: boolean;
  /** Extra headers on successful replies. */
  headers(req: SimRequest): Record<string, string>;
  /** Id prefixes differ: OpenAI "chatcmpl-", Mistral a bare hex id. */
  chatId(raw: string): string;
  /** OpenAI's newer message fields (refusal, annotations); Mistral sends tool_calls: null instead. */
  openAIExtras: boolean;
  /** Usage object shape. */
  usage(prompt: number, completion: number): Record<string, unknown>;
}

export const SSE_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" };
export const DONE = "data: [DONE]\n\n";

export function sse(obj: unknown): string {
  return `data: ${JSON.stringify(obj)}\n\n`;
}

/** OpenAI's usage object, with the detail blocks it sends today. */
export function openAIUsage(prompt: number, completion: number): Record<string, unknown> {
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const SAFE = { filtered: false, severity: "safe" };
const CONTENT_FILTER = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTER = [{ prompt_index: 0, content_filter_results: CONTENT_FILTER }];

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

type Answer =
  | { kind: "text"; text: string; finish: "stop" | "length"; completion: number }
  | { kind: "tool"; id: string; name: string; args: string; completion: number };

interface Checked {
  body: Record<string, unknown>;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
}

/** Checks shared by every route; returns the error reply or what the route needs. */
function check(req: SimRequest, body: Record<string, unknown> | null, f: Flavor): Reply | Checked {
  if (!body) return f.errors.invalidJson();
  for (const p of f.refusedParams) if (p in body) return f.errors.refused(p, body[p]);
  const model = body["model"];
  if (f.requireModel && (model === undefined || model === null)) return f.errors.missing("model");
  if (model !== undefined && typeof model !== "string") return f.errors.invalid("model", "Invalid type for 'model': expected a string.");
  // Azure ignores the body's model: its deployment names the model.
  if (f.requireModel && model === MISSING_MODEL) return f.errors.modelNotFound(model);
  const stream = body["stream"] === true;
  let includeUsage = false;
  if (f.streamOptions && body["stream_options"] !== undefined && body["stream_options"] !== null) {
    if (!stream) return f.errors.invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
    const so = body["stream_options"];
    includeUsage = isRecord(so) && so["include_usage"] === true;
  }
  const mt = positiveInt(body["max_completion_tokens"] ?? body["max_tokens"]);
  if (mt === null) {
    const p = body["max_completion_tokens"] !== undefined ? "max_completion_tokens" : "max_tokens";
    return f.errors.invalid(p, `Invalid '${p}': integer below minimum value. Expected a value >= 1.`, "integer_below_min_value");
  }
  void req;
  return { body, model: f.replyModel(typeof model === "string" ? model : undefined), stream, includeUsage, maxTokens: mt };
}

function toolName(tools: unknown[], choice: unknown): string {
  if (isRecord(choice) && isRecord(choice["function"]) && typeof choice["function"]["name"] === "string") return choice["function"]["name"];
  const first = tools[0];
  if (isRecord(first) && isRecord(first["function"]) && typeof first["function"]["name"] === "string") return first["function"]["name"];
  return "tool";
}

/** POST …/chat/completions */
export function chat(req: SimRequest, raw: Record<string, unknown> | null, f: Flavor): Reply {
  const c = check(req, raw, f);
  if ("kind" in c) return c;
  const messages = c.body["messages"];
  if (messages === undefined) return f.errors.missing("messages");
  if (!Array.isArray(messages)) return f.errors.invalid("messages", "Invalid type for 'messages': expected an array of objects.");
  if (messages.length === 0)
    return f.errors.invalid("messages", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "empty_array");
  for (let i = 0; i < messages.length; i++) {
    const m: unknown = messages[i];
    if (!isRecord(m) || typeof m["role"] !== "string" || !ROLES.has(m["role"]))
      return f.errors.invalid(`messages[${i}].role`, `Invalid value for 'messages[${i}].role': expected one of 'system', 'developer', 'user', 'assistant', 'tool' or 'function'.`, "invalid_value");
  }
  const msgs = messages as Record<string, unknown>[];
  const prompt = countAll(msgs.map((m) => contentText(m["content"])));
  const last = msgs[msgs.length - 1];
  const tools = Array.isArray(c.body["tools"]) ? (c.body["tools"] as unknown[]) : [];
  const choice = c.body["tool_choice"];
  let answer: Answer;
  if (last["role"] === "user" && tools.length > 0 && choice !== "none") {
    const args = JSON.stringify(toolInput(contentText(last["content"])));
    answer = { kind: "tool", id: `call_${idFrom(req.raw)}`, name: toolName(tools, choice), args, completion: countWords(args) };
  } else {
    const source = last["role"] === "tool" ? last : ([...msgs].reverse().find((m) => m["role"] === "user") ?? last);
    const system = msgs.filter((m) => m["role"] === "system" || m["role"] === "developer").map((m) => contentText(m["content"])).join("\n");
    const e = echo(contentText(source["content"]), c.maxTokens, system);
    answer = { kind: "text", text: e.text, finish: e.truncated ? "length" : "stop", completion: e.completionTokens };
  }
  const id = f.chatId(req.raw);
  if (c.stream) return chatStream(req, f, c, id, prompt, answer);

  const extras = f.openAIExtras ? { refusal: null, annotations: [] } : {};
  const message =
    answer.kind === "text"
      ? { role: "assistant", content: answer.text, ...(f.openAIExtras ? extras : { tool_calls: null }) }
      : { role: "assistant", content: null, tool_calls: [{ id: answer.id, type: "function", function: { name: answer.name, arguments: answer.args } }], ...extras };
  const choiceOut: Record<string, unknown> = {
    index: 0,
    message,
    logprobs: null,
    finish_reason: answer.kind === "text" ? answer.finish : "tool_calls",
  };
  if (f.contentFilter) choiceOut["content_filter_results"] = CONTENT_FILTER;
  const out: Record<string, unknown> = {
    id,
    object: "chat.completion",
    created: CREATED,
    model: c.model,
    choices: [choiceOut],
    usage: f.usage(prompt, answer.completion),
  };
  if (f.contentFilter) out["prompt_filter_results"] = PROMPT_FILTER;
  return json(200, out, f.headers(req));
}

function chatStream(req: SimRequest, f: Flavor, c: Checked, id: string, prompt: number, answer: Answer): Reply {
  const events: string[] = [];
  if (f.contentFilter) events.push(sse({ choices: [], created: 0, id: "", model: "", object: "", prompt_filter_results: PROMPT_FILTER }));
  const chunk = (delta: Record<string, unknown>, finish: string | null, filter: boolean): Record<string, unknown> => {
    const choice: Record<string, unknown> = { index: 0, delta, logprobs: null, finish_reason: finish };
    if (f.contentFilter) choice["content_filter_results"] = filter ? CONTENT_FILTER : {};
    const o: Record<string, unknown> = { id, object: "chat.completion.chunk", created: CREATED, model: c.model, choices: [choice] };
    if (c.includeUsage) o["usage"] = null;
    return o;
  };
  if (answer.kind === "text") {
    events.push(sse(chunk(f.openAIExtras ? { role: "assistant", content: "", refusal: null } : { role: "assistant", content: "" }, null, false)));
    for (const p of pieces(answer.text)) events.push(sse(chunk({ content: p }, null, true)));
  } else {
    const call = { index: 0, id: answer.id, type: "function", function: { name: answer.name, arguments: "" } };
    events.push(sse(chunk({ role: "assistant", content: null, tool_calls: [call], ...(f.openAIExtras ? { refusal: null } : {}) }, null, false)));
    for (const p of pieces(answer.args)) events.push(sse(chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }, null, true)));
  }
  const finish = answer.kind === "text" ? answer.finish : "tool_calls";
  const last = chunk(f.streamUsage === "final_chunk" ? { content: "" } : {}, finish, false);
  if (f.streamUsage === "final_chunk") last["usage"] = f.usage(prompt, answer.completion);
  events.push(sse(last));
  if (f.streamUsage === "on_request" && c.includeUsage)
    events.push(sse({ id, object: "chat.completion.chunk", created: CREATED, model: c.model, choices: [], usage: f.usage(prompt, answer.completion) }));
  events.push(DONE);
  return { kind: "stream", status: 200, headers: { ...SSE_HEADERS, ...f.headers(req) }, events };
}

/** POST …/completions (legacy text completions). */
export function completions(req: SimRequest, raw: Record<string, unknown> | null, f: Flavor): Reply {
  const c = check(req, raw, f);
  if ("kind" in c) return c;
  const p = c.body["prompt"];
  if (p === undefined) return f.errors.missing("prompt");
  const prompts = typeof p === "string" ? [p] : Array.isArray(p) && p.every((x) => typeof x === "string") ? (p as string[]) : null;
  if (!prompts || prompts.length === 0) return f.errors.invalid("prompt", "Invalid type for 'prompt': expected a string or an array of strings.");
  const prompt = countAll(prompts);
  const e = echo(prompts[prompts.length - 1], c.maxTokens);
  const finish = e.truncated ? "length" : "stop";
  const id = `cmpl-${idFrom(req.raw)}`;
  const usage = f.usage(prompt, e.completionTokens);
  if (!c.stream) {
    const choice: Record<string, unknown> = { text: e.text, index: 0, logprobs: null, finish_reason: finish };
    if (f.contentFilter) choice["content_filter_results"] = CONTENT_FILTER;
    const out: Record<string, unknown> = { id, object: "text_completion", created: CREATED, model: c.model, choices: [choice], usage };
    if (f.contentFilter) out["prompt_filter_results"] = PROMPT_FILTER;
    return json(200, out, f.headers(req));
  }
  const chunk = (text: string, fr: string | null): Record<string, unknown> => {
    const o: Record<string, unknown> = { id, object: "text_completion", created: CREATED, choices: [{ text, index: 0, logprobs: null, finish_reason: fr }], model: c.model };
    if (c.includeUsage) o["usage"] = null;
    return o;
  };
  const events = pieces(e.text).map((t) => sse(chunk(t, null)));
  events.push(sse(chunk("", finish)));
  if (c.includeUsage) events.push(sse({ id, object: "text_completion", created: CREATED, choices: [], model: c.model, usage }));
  events.push(DONE);
  return { kind: "stream", status: 200, headers: { ...SSE_HEADERS, ...f.headers(req) }, events };
}

/** POST …/embeddings */
export function embeddings(req: SimRequest, raw: Record<string, unknown> | null, f: Flavor): Reply {
  const c = check(req, raw, f);
  if ("kind" in c) return c;
  const input = c.body["input"];
  if (input === undefined) return f.errors.missing("input");
  const inputs = typeof input === "string" ? [input] : Array.isArray(input) && input.every((x) => typeof x === "string") ? (input as string[]) : null;
  if (!inputs || inputs.length === 0) return f.errors.invalid("input", "Invalid type for 'input': expected a string or an array of strings.");
  const format = c.body["encoding_format"];
  if (format !== undefined && format !== "float" && format !== "base64")
    return f.errors.invalid("encoding_format", `Invalid value for 'encoding_format': expected one of 'float' or 'base64'.`, "invalid_value");
  const base64 = f.embeddingBase64 && format === "base64";
  const data = inputs.map((t, index) => {
    const v = embedding(t);
    return { object: "embedding", index, embedding: base64 ? embeddingBase64(v) : v };
  });
  const prompt = countAll(inputs);
  const usage = f.usage(prompt, 0);
  delete usage["completion_tokens_details"];
  delete usage["prompt_tokens_details"];
  if (f.streamUsage === "on_request") delete usage["completion_tokens"]; // OpenAI/Azure embeddings report prompt and total only
  return json(200, { object: "list", data, model: c.model, usage }, f.headers(req));
}
