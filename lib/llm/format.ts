// Writers for the OpenAI response shapes every provider translates into: chat.completion,
// text_completion, embeddings lists, and the SSE chunk frames of a stream.

import { ByteBuilder, JsonWriter } from "./json-writer";
import { Usage } from "./provider";

/** A random id like "chatcmpl-3f9a…" (24 hex digits). */
export function makeId(prefix: string): string {
  let s = prefix;
  for (let i = 0; i < 3; i++) {
    const v = <u32>(Math.random() * 4294967296.0);
    s += v.toString(16).padStart(8, "0");
  }
  return s;
}

/** `"usage":{prompt_tokens, completion_tokens, total_tokens}` member (unknown counts write 0). */
export function writeUsage(w: JsonWriter, u: Usage): void {
  const p = max<i64>(u.promptTokens, 0);
  const c = max<i64>(u.completionTokens, 0);
  const t = u.totalTokens >= 0 ? u.totalTokens : p + c;
  w.key("usage").beginObject().fieldInt("prompt_tokens", p).fieldInt("completion_tokens", c).fieldInt("total_tokens", t).endObject();
}

/** One choice of a chat.completion. `toolCallsJson` is a serialized OpenAI `tool_calls` array, or null. */
export class ChatChoice {
  index: i32 = 0;
  role: string = "assistant";
  content: string | null = null;
  toolCallsJson: string | null = null;
  finishReason: string | null = null;
}

/** A non-streaming `chat.completion` body. */
export function writeChatCompletion(id: string, model: string, created: i64, choices: ChatChoice[], usage: Usage): Uint8Array {
  const w = new JsonWriter();
  w.beginObject().fieldString("id", id).fieldString("object", "chat.completion").fieldInt("created", created).fieldString("model", model);
  w.key("choices").beginArray();
  for (let i = 0; i < choices.length; i++) {
    const c = unchecked(choices[i]);
    w.beginObject().fieldInt("index", c.index);
    w.key("message").beginObject().fieldString("role", c.role).fieldStringOrNull("content", c.content);
    if (c.toolCallsJson != null) w.key("tool_calls").rawString(c.toolCallsJson!);
    w.endObject();
    w.fieldStringOrNull("finish_reason", c.finishReason).fieldNull("logprobs");
    w.endObject();
  }
  w.endArray();
  writeUsage(w, usage);
  w.endObject();
  return w.toBytes();
}

/** One choice of a text_completion. */
export class TextChoice {
  index: i32 = 0;
  text: string = "";
  finishReason: string | null = null;
}

/** A non-streaming `text_completion` body (route llm/v1/completions). */
export function writeTextCompletion(id: string, model: string, created: i64, choices: TextChoice[], usage: Usage): Uint8Array {
  const w = new JsonWriter();
  w.beginObject().fieldString("id", id).fieldString("object", "text_completion").fieldInt("created", created).fieldString("model", model);
  w.key("choices").beginArray();
  for (let i = 0; i < choices.length; i++) {
    const c = unchecked(choices[i]);
    w.beginObject().fieldString("text", c.text).fieldInt("index", c.index).fieldNull("logprobs").fieldStringOrNull("finish_reason", c.finishReason).endObject();
  }
  w.endArray();
  writeUsage(w, usage);
  w.endObject();
  return w.toBytes();
}

/** One embedding: its index and the vector as serialized JSON (e.g. "[0.1,-0.2]"). */
export class EmbeddingItem {
  constructor(
    public index: i32,
    public vectorJson: string,
  ) {}
}

/** An embeddings `list` body: usage has prompt_tokens and total_tokens only. */
export function writeEmbeddings(model: string, items: EmbeddingItem[], usage: Usage): Uint8Array {
  const w = new JsonWriter();
  w.beginObject().fieldString("object", "list").key("data").beginArray();
  for (let i = 0; i < items.length; i++) {
    const it = unchecked(items[i]);
    w.beginObject().fieldString("object", "embedding").fieldInt("index", it.index).key("embedding").rawString(it.vectorJson).endObject();
  }
  w.endArray().fieldString("model", model);
  const p = max<i64>(usage.promptTokens, 0);
  w.key("usage").beginObject().fieldInt("prompt_tokens", p).fieldInt("total_tokens", usage.totalTokens >= 0 ? usage.totalTokens : p).endObject();
  w.endObject();
  return w.toBytes();
}

// ---------------------------------------------------------------------------------------
// Stream frames

/** The fixed fields of every chunk in one stream. */
export class ChunkHeader {
  constructor(
    public id: string,
    public model: string,
    public created: i64,
    /** "chat.completion.chunk", or "text_completion" for the completions route. */
    public object: string = "chat.completion.chunk",
  ) {}
}

/**
 * Appends `data: {chunk}\n\n` with one choice. Chat: `delta` gets `role` (if not null),
 * `content` (if not null) and `tool_calls` (serialized array, if not null). Completions
 * (h.object == "text_completion"): `text` = content. `usage` non-null adds a usage member.
 */
export function writeChatChunk(out: ByteBuilder, h: ChunkHeader, role: string | null, content: string | null, finishReason: string | null, toolCallsJson: string | null = null, usage: Usage | null = null): void {
  out.str("data: ");
  const w = new JsonWriter(out);
  w.beginObject().fieldString("id", h.id).fieldString("object", h.object).fieldInt("created", h.created).fieldString("model", h.model);
  w.key("choices").beginArray().beginObject().fieldInt("index", 0);
  if (h.object == "text_completion") {
    w.fieldString("text", content != null ? content : "");
  } else {
    w.key("delta").beginObject();
    if (role != null) w.fieldString("role", role);
    if (content != null) w.fieldString("content", content);
    if (toolCallsJson != null) w.key("tool_calls").rawString(toolCallsJson);
    w.endObject();
  }
  w.fieldNull("logprobs").fieldStringOrNull("finish_reason", finishReason);
  w.endObject().endArray();
  if (usage != null) writeUsage(w, usage);
  w.endObject();
  out.str("\n\n");
}

/** Appends the usage-only chunk OpenAI sends last with include_usage: `choices: []` plus usage. */
export function writeUsageChunk(out: ByteBuilder, h: ChunkHeader, usage: Usage): void {
  out.str("data: ");
  const w = new JsonWriter(out);
  w.beginObject().fieldString("id", h.id).fieldString("object", h.object).fieldInt("created", h.created).fieldString("model", h.model);
  w.key("choices").beginArray().endArray();
  writeUsage(w, usage);
  w.endObject();
  out.str("\n\n");
}

/** Appends `data: [DONE]\n\n`. */
export function writeDone(out: ByteBuilder): void {
  out.str("data: [DONE]\n\n");
}

/**
 * Appends an error frame `data: {"error":{"message","type":"api_error","code":null}}\n\n`.
 * The OpenAI SDKs raise an APIError for a data frame with an `error` member; the status
 * (200) has already gone out, so this is the only way to say the stream broke.
 */
export function writeStreamError(out: ByteBuilder, message: string): void {
  out.str("data: ");
  const w = new JsonWriter(out);
  w.beginObject().key("error").beginObject().fieldString("message", message).fieldString("type", "api_error").fieldNull("code").endObject().endObject();
  out.str("\n\n");
}
