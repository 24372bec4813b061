// Anthropic (api.anthropic.com): chat over the Messages API (/v1/messages) and, as in Kong
// 3.9, completions over the legacy Text Completions API (/v1/complete, claude-2 and
// claude-instant models only). No embeddings API. Always sends `anthropic-version`.
// https://docs.anthropic.com/en/api/messages , .../messages-streaming , .../complete
//
// Decisions:
// - `max_tokens` is required by Anthropic: the request's, else model.options.max_tokens,
//   else DEFAULT_MAX_TOKENS (4096, which every Claude model accepts as output length).
// - Several system/developer messages are all kept, in order, as `system` text blocks
//   (Kong 3.9 keeps only the last one, which drops e.g. a decorator's prepended prompt).
// - finish_reason is mapped to OpenAI's values (Kong copies stop_reason unmapped).
// - prompt_tokens counts cached input too (input + cache_creation + cache_read), as
//   OpenAI's prompt_tokens does.
// - Sampling: `temperature`, else `top_p`, never both. Claude Sonnet 4.5, Haiku 4.5, Opus
//   4.1 and later refuse the two together (400 "`temperature` and `top_p` cannot both be
//   specified for this model"), and the Messages reference advises altering one; Kong's
//   driver sends no top_p at all, so temperature wins. `top_k` goes up when it is ≥ 1 (0 is
//   "off" in OpenAI-style configs and not a value Anthropic takes). Temperature is sent as
//   given: outside Anthropic's 0–1 range its own 400 reaches the client in the OpenAI shape.

import { JSON } from "json-as";
import { arrAt, getArr, getObj, getString, parseObject, valueArr, valueObj, valueString } from "../../json";
import { JsonWriter } from "../json-writer";
import { errorBody, errorTypeForStatus, genericError } from "../errors";
import { ChatChoice, TextChoice, writeChatChunk, writeChatCompletion, writeTextCompletion, writeUsageChunk } from "../format";
import {
  Header,
  LlmRequest,
  Provider,
  RouteType,
  routeTypeName,
  StreamTranslator,
  TranslatedRequest,
  TranslatedResponse,
  UNSET,
  Usage,
} from "../provider";
import { SseEvent } from "../sse";
import { SseStreamTranslator } from "../stream";
import { functionTools, toolChoice, ToolChoiceKind } from "./openai-tools";
import {
  contentText,
  countAt,
  imageUrlOf,
  maxTokensOr,
  objJson,
  parallelToolCallsOff,
  parseDataUrl,
  setUsage,
  singlePrompt,
  stopList,
  toolCallDelta,
  writeStringList,
  writeToolCall,
  writeValue,
  JsonOrError,
} from "./native-shared";

/** max_tokens sent when neither the request nor model.options sets one. */
export const DEFAULT_MAX_TOKENS: i64 = 4096;

/** Anthropic stop_reason → OpenAI finish_reason (unknown values pass through). */
export function anthropicFinishReason(r: string | null): string | null {
  if (r == null) return null;
  if (r == "end_turn" || r == "stop_sequence" || r == "pause_turn") return "stop";
  if (r == "max_tokens" || r == "model_context_window_exceeded") return "length";
  if (r == "tool_use") return "tool_calls";
  if (r == "refusal") return "content_filter";
  return r;
}

/** usage.{input_tokens + cache_creation_input_tokens + cache_read_input_tokens}, or -1. */
function promptTokensOf(u: JSON.Obj): i64 {
  const input = countAt(u, "input_tokens");
  if (input < 0) return -1;
  const created = countAt(u, "cache_creation_input_tokens");
  const read = countAt(u, "cache_read_input_tokens");
  return input + (created > 0 ? created : 0) + (read > 0 ? read : 0);
}

/** Content blocks a stream may index; a larger index is hostile and ignored (it would size an array). */
const MAX_BLOCKS: i64 = 1024;

/** A content block index from a stream event, or -1 when absent, negative or too large. */
function blockIndex(o: JSON.Obj): i32 {
  const n = countAt(o, "index");
  return n >= 0 && n < MAX_BLOCKS ? <i32>n : -1;
}

/** One Anthropic message being built: its role and its content blocks (each serialized JSON). */
class AnthropicMessage {
  blocks: string[] = [];
  /** The content as sent when it was a single plain string (kept as a string). */
  plain: string | null = null;
  constructor(public role: string) {}

  /** Turns a plain-string content into a text block so more blocks can follow. */
  toBlocks(): void {
    const p = this.plain;
    if (p == null) return;
    this.blocks.push(textBlock(p));
    this.plain = null;
  }
}

function textBlock(text: string): string {
  const w = new JsonWriter();
  w.beginObject().fieldString("type", "text").fieldString("text", text).endObject();
  return w.out.toString();
}

/** Builds the Messages API body from an OpenAI chat request. */
class ChatBuilder {
  systems: string[] = [];
  messages: AnthropicMessage[] = [];
  error: string | null = null;

  /** Appends blocks under `role`, merging with the previous message of the same role (Anthropic needs alternation and tool results right after the tool use). */
  add(role: string, plain: string | null, blocks: string[]): void {
    const n = this.messages.length;
    if (n > 0) {
      const last = unchecked(this.messages[n - 1]);
      if (last.role == role) {
        last.toBlocks();
        if (plain != null) last.blocks.push(textBlock(plain));
        for (let i = 0; i < blocks.length; i++) last.blocks.push(unchecked(blocks[i]));
        return;
      }
    }
    const m = new AnthropicMessage(role);
    m.plain = plain;
    for (let i = 0; i < blocks.length; i++) m.blocks.push(unchecked(blocks[i]));
    this.messages.push(m);
  }

  /** Content parts → blocks (text and images). Null with this.error set on an unsupported part. */
  partsToBlocks(parts: JSON.Arr, at: string): string[] | null {
    const out = new Array<string>();
    for (let j = 0; j < parts.length; j++) {
      const p = valueObj(arrAt(parts, j));
      if (p == null) continue;
      const type = getString(p, "type");
      if (type == null) continue;
      if (type == "text" || type == "input_text") {
        const t = getString(p, "text");
        if (t != null) out.push(textBlock(t));
      } else if (type == "image_url") {
        const url = imageUrlOf(p);
        if (url == null) {
          this.error = at + ".content[" + j.toString() + "].image_url.url must be a string";
          return null;
        }
        out.push(imageBlock(url));
      } else {
        this.error = at + ".content[" + j.toString() + "]: content part type '" + type + "' is not supported by provider anthropic";
        return null;
      }
    }
    return out;
  }

  message(m: JSON.Obj, i: i32): void {
    const at = "messages[" + i.toString() + "]";
    const role = getString(m, "role");
    if (role == null) return;
    const content = m.get("content");
    if (role == "system" || role == "developer") {
      this.systems.push(contentText(content, "\n"));
      return;
    }
    if (role == "user") {
      const s = valueString(content);
      if (s != null) {
        this.add("user", s, []);
        return;
      }
      const parts = valueArr(content);
      if (parts == null) return;
      const blocks = this.partsToBlocks(parts, at);
      if (blocks != null) this.add("user", null, blocks);
      return;
    }
    if (role == "assistant") {
      const blocks = new Array<string>();
      const text = contentText(content, "");
      const calls = getArr(m, "tool_calls");
      if (calls == null && valueString(content) != null) {
        if (text.length > 0) this.add("assistant", text, []);
        return;
      }
      if (text.length > 0) blocks.push(textBlock(text));
      if (calls != null) {
        for (let j = 0; j < calls.length; j++) {
          const b = toolUseBlock(valueObj(arrAt(calls, j)), at + ".tool_calls[" + j.toString() + "]");
          if (b.error != null) {
            this.error = b.error;
            return;
          }
          blocks.push(b.json);
        }
      }
      if (blocks.length > 0) this.add("assistant", null, blocks);
      return;
    }
    if (role == "tool") {
      const id = getString(m, "tool_call_id");
      const w = new JsonWriter();
      w.beginObject().fieldString("type", "tool_result").fieldString("tool_use_id", id != null ? id : "");
      const s = valueString(content);
      const parts = valueArr(content);
      if (s != null) {
        w.fieldString("content", s);
      } else if (parts != null) {
        const blocks = this.partsToBlocks(parts, at);
        if (blocks == null) return;
        w.key("content").beginArray();
        for (let j = 0; j < blocks.length; j++) w.rawString(unchecked(blocks[j]));
        w.endArray();
      }
      w.endObject();
      this.add("user", null, [w.out.toString()]);
      return;
    }
    this.error = at + ".role '" + role + "' is not supported by provider anthropic (use tool messages for tool results)";
  }
}

/** An image block: base64 source for a data: URL, url source otherwise. */
function imageBlock(url: string): string {
  const w = new JsonWriter();
  w.beginObject().fieldString("type", "image").key("source").beginObject();
  const d = parseDataUrl(url);
  if (d != null) w.fieldString("type", "base64").fieldString("media_type", d.mediaType).fieldString("data", d.data);
  else w.fieldString("type", "url").fieldString("url", url);
  w.endObject().endObject();
  return w.out.toString();
}

/** An OpenAI tool call → a tool_use block; its `arguments` string is decoded into `input`. */
function toolUseBlock(call: JSON.Obj | null, at: string): JsonOrError {
  const r = new JsonOrError();
  if (call == null) {
    r.error = at + " must be an object";
    return r;
  }
  const id = getString(call, "id");
  const fn = getObj(call, "function");
  const name = fn != null ? getString(fn, "name") : null;
  if (id == null || name == null) {
    r.error = at + " needs an id and function.name";
    return r;
  }
  const args = fn != null ? getString(fn!, "arguments") : null;
  let input: JSON.Obj | null = new JSON.Obj();
  if (args != null && args.trim().length > 0) {
    const p = parseObject(Uint8Array.wrap(String.UTF8.encode(args)));
    input = p.value;
  }
  if (input == null) {
    r.error = at + ".function.arguments must be a JSON object";
    return r;
  }
  const w = new JsonWriter();
  w.beginObject().fieldString("type", "tool_use").fieldString("id", id).fieldString("name", name).key("input").rawString(objJson(input!)).endObject();
  r.json = w.out.toString();
  return r;
}

export class AnthropicProvider extends Provider {
  validate(route: RouteType): string | null {
    if (this.config.options.anthropicVersion.length == 0) return "model.options.anthropic_version is required for provider anthropic";
    if (route == RouteType.Embeddings) return "route_type llm/v1/embeddings is not supported by provider anthropic";
    return super.validate(route);
  }

  defaultBaseUrl(): string {
    return "https://api.anthropic.com:443";
  }

  defaultPath(route: RouteType): string | null {
    if (route == RouteType.Chat) return "/v1/messages";
    if (route == RouteType.Completions) return "/v1/complete";
    if (route == RouteType.Preserve) return "";
    return null;
  }

  requestHeaders(route: RouteType): Header[] {
    return [new Header("anthropic-version", this.config.options.anthropicVersion)];
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
    if (req.route == RouteType.Chat) return this.chatRequest(req);
    if (req.route == RouteType.Completions) return this.completeRequest(req);
    return TranslatedRequest.fail("route_type " + routeTypeName(req.route) + " is not supported by provider anthropic");
  }

  private chatRequest(req: LlmRequest): TranslatedRequest {
    const body = req.body;
    const msgs = getArr(body, "messages");
    if (msgs == null) return TranslatedRequest.fail("'messages' must be an array");
    const b = new ChatBuilder();
    for (let i = 0; i < msgs.length && b.error == null; i++) {
      const m = valueObj(arrAt(msgs, i));
      if (m != null) b.message(m, i);
    }
    if (b.error != null) return TranslatedRequest.fail(b.error!);
    if (b.messages.length == 0) return TranslatedRequest.fail("provider anthropic needs at least one user or assistant message");

    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model).fieldInt("max_tokens", maxTokensOr(req, DEFAULT_MAX_TOKENS));
    if (b.systems.length == 1) {
      w.fieldString("system", unchecked(b.systems[0]));
    } else if (b.systems.length > 1) {
      w.key("system").beginArray();
      for (let i = 0; i < b.systems.length; i++) w.rawString(textBlock(unchecked(b.systems[i])));
      w.endArray();
    }
    w.key("messages").beginArray();
    for (let i = 0; i < b.messages.length; i++) {
      const m = unchecked(b.messages[i]);
      w.beginObject().fieldString("role", m.role);
      if (m.plain != null) {
        w.fieldString("content", m.plain!);
      } else {
        w.key("content").beginArray();
        for (let j = 0; j < m.blocks.length; j++) w.rawString(unchecked(m.blocks[j]));
        w.endArray();
      }
      w.endObject();
    }
    w.endArray();
    this.tuning(w, req);
    const err = this.tools(w, body);
    if (err != null) return TranslatedRequest.fail(err);
    const user = getString(body, "user");
    if (user != null) w.key("metadata").beginObject().fieldString("user_id", user).endObject();
    w.fieldBool("stream", req.stream);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  /** temperature (else top_p), top_k and stop → stop_sequences; see the decisions above. */
  private tuning(w: JsonWriter, req: LlmRequest): void {
    if (!isNaN(req.temperature)) w.fieldNumber("temperature", req.temperature);
    else if (!isNaN(req.topP)) w.fieldNumber("top_p", req.topP);
    if (req.topK != UNSET && req.topK >= 1) w.fieldInt("top_k", req.topK);
    const stop = stopList(req.body);
    if (stop != null && stop.length > 0) writeStringList(w, "stop_sequences", stop);
  }

  /** tools[].function → {name, description, input_schema}; tool_choice → Anthropic's form. Returns an error message or null. */
  private tools(w: JsonWriter, body: JSON.Obj): string | null {
    const arr = getArr(body, "tools");
    if (arr == null || arr.length == 0) return null;
    const tools = functionTools(arr, "anthropic");
    if (tools.error != null) return tools.error;
    w.key("tools").beginArray();
    for (let i = 0; i < tools.list.length; i++) {
      const t = unchecked(tools.list[i]);
      w.beginObject().fieldString("name", t.name);
      if (t.description != null) w.fieldString("description", t.description!);
      w.key("input_schema");
      if (t.parameters == null) w.rawString('{"type":"object","properties":{}}');
      else {
        const params = valueObj(t.parameters);
        if (params == null) return "tools[" + i.toString() + "].function.parameters must be an object";
        w.rawString(objJson(params));
      }
      w.endObject();
    }
    w.endArray();
    const noParallel = parallelToolCallsOff(body);
    const tc = toolChoice(body);
    if (tc.error != null) return tc.error;
    if (tc.kind == ToolChoiceKind.Absent && !noParallel) return null; // Anthropic's default is auto
    let type = "auto";
    if (tc.kind == ToolChoiceKind.None) type = "none";
    else if (tc.kind == ToolChoiceKind.Required) type = "any";
    else if (tc.kind == ToolChoiceKind.Function) type = "tool";
    w.key("tool_choice").beginObject().fieldString("type", type);
    if (tc.name != null) w.fieldString("name", tc.name!);
    if (noParallel && type != "none") w.fieldBool("disable_parallel_tool_use", true);
    w.endObject();
    return null;
  }

  /** Legacy Text Completions: "\n\nHuman: <prompt>\n\nAssistant:" and max_tokens_to_sample. */
  private completeRequest(req: LlmRequest): TranslatedRequest {
    const prompt = singlePrompt(req.body);
    if (prompt == null) return TranslatedRequest.fail("provider anthropic takes one 'prompt' string");
    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model);
    w.fieldString("prompt", "\n\nHuman: " + prompt + "\n\nAssistant:");
    w.fieldInt("max_tokens_to_sample", maxTokensOr(req, DEFAULT_MAX_TOKENS));
    this.tuning(w, req);
    w.fieldBool("stream", req.stream);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    const what = "anthropic://" + routeTypeName(req.route);
    const p = parseObject(body);
    if (p.value == null) return TranslatedResponse.fail("transformation failed from type " + what + ": response is not a JSON object");
    const o = p.value!;
    const r = new TranslatedResponse();
    const model = getString(o, "model");
    if (model != null) r.model = model;
    const outModel = r.model.length > 0 ? r.model : req.model;
    const idv = getString(o, "id");
    const id = idv != null ? idv : req.requestId;
    if (req.route == RouteType.Completions) {
      const completion = getString(o, "completion");
      if (completion == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'completion' not in " + what + " response");
      const c = new TextChoice();
      c.text = completion;
      c.finishReason = anthropicFinishReason(getString(o, "stop_reason"));
      readUsage(o, r.usage);
      r.body = writeTextCompletion(id, outModel, req.created, [c], r.usage);
      return r;
    }
    const content = getArr(o, "content");
    if (content == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'content' not in " + what + " response");
    let text = "";
    let calls: JsonWriter | null = null;
    for (let i = 0; i < content.length; i++) {
      const b = valueObj(arrAt(content, i));
      if (b == null) continue;
      const type = getString(b, "type");
      if (type == null) continue;
      if (type == "text") {
        const t = getString(b, "text");
        if (t != null) text += t;
      } else if (type == "tool_use") {
        if (calls == null) {
          calls = new JsonWriter();
          calls.beginArray();
        }
        const input = b.get("input");
        const w = new JsonWriter();
        writeValue(w, input);
        writeToolCall(calls!, -1, nonNull(getString(b, "id"), ""), nonNull(getString(b, "name"), ""), w.out.toString());
      }
      // thinking, redacted_thinking and server tool blocks have no OpenAI equivalent.
    }
    const c = new ChatChoice();
    if (calls != null) {
      calls.endArray();
      c.toolCallsJson = calls.out.toString();
      c.content = text.length > 0 ? text : null;
    } else {
      c.content = text;
    }
    c.finishReason = anthropicFinishReason(getString(o, "stop_reason"));
    readUsage(o, r.usage);
    r.body = writeChatCompletion(id, outModel, req.created, [c], r.usage);
    return r;
  }

  /** Anthropic's `{"type":"error","error":{"type","message"}}`, kept with its type. */
  translateError(status: u32, body: Uint8Array): Uint8Array {
    const p = parseObject(body);
    if (p.value != null) {
      const e = getObj(p.value!, "error");
      const message = e != null ? getString(e, "message") : null;
      if (e != null && message != null) {
        const type = getString(e, "type");
        return errorBody(message, type != null && type.length > 0 ? type : errorTypeForStatus(status), null);
      }
    }
    return genericError(status, body);
  }

  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new AnthropicStreamTranslator(req);
  }
}

function nonNull(s: string | null, fallback: string): string {
  return s != null ? s : fallback;
}

/** usage.{input,output}_tokens → prompt/completion/total. */
function readUsage(o: JSON.Obj, u: Usage): void {
  const usage = getObj(o, "usage");
  if (usage == null) return;
  setUsage(u, promptTokensOf(usage), countAt(usage, "output_tokens"));
}

/**
 * Anthropic SSE → OpenAI chunks. message_start: the role chunk (id, model, prompt tokens);
 * content_block_start/delta: text and tool-call deltas; message_delta: finish_reason and the
 * cumulative output tokens; message_stop: the usage chunk if asked, then [DONE]; ping is
 * dropped; an `error` event ends the stream with an error frame. The legacy completions
 * stream (`completion` events) becomes text_completion chunks.
 */
export class AnthropicStreamTranslator extends SseStreamTranslator {
  /** OpenAI tool_calls index for each Anthropic content block index (-1: not a tool block). */
  private toolIndex: i32[] = [];
  private tools: i32 = 0;
  private started: bool = false;

  onEvent(ev: SseEvent): string | null {
    if (ev.data.length == 0) return null;
    const p = parseObject(ev.data);
    if (p.value == null) return "upstream sent an invalid stream event: " + p.error!;
    const o = p.value!;
    let type = ev.event;
    if (type.length == 0) {
      const t = getString(o, "type");
      if (t != null) type = t;
    }
    if (type == "message_start") return this.onStart(o);
    if (type == "content_block_start") return this.onBlockStart(o);
    if (type == "content_block_delta") return this.onBlockDelta(o);
    if (type == "message_delta") return this.onMessageDelta(o);
    if (type == "message_stop") {
      this.usage.complete();
      if (this.req.clientIncludeUsage && this.usage.known) writeUsageChunk(this.out, this.header, this.usage);
      this.done();
      return null;
    }
    if (type == "completion") return this.onCompletion(o);
    if (type == "error") {
      const e = getObj(o, "error");
      const m = e != null ? getString(e, "message") : null;
      return m != null ? m : "upstream stream error";
    }
    return null; // ping, content_block_stop and event types added later
  }

  private role(): string | null {
    if (this.started) return null;
    this.started = true;
    return "assistant";
  }

  private onStart(o: JSON.Obj): string | null {
    const m = getObj(o, "message");
    if (m == null) return "message_start without a message";
    const id = getString(m, "id");
    if (id != null && id.length > 0) this.header.id = id;
    const model = getString(m, "model");
    if (model != null && model.length > 0) {
      this.model = model;
      this.header.model = model;
    }
    const u = getObj(m, "usage");
    if (u != null) {
      const pt = promptTokensOf(u);
      if (pt >= 0) this.usage.promptTokens = pt;
    }
    writeChatChunk(this.out, this.header, this.role(), "", null);
    return null;
  }

  private onBlockStart(o: JSON.Obj): string | null {
    const index = blockIndex(o);
    const b = getObj(o, "content_block");
    if (b == null || index < 0) return null;
    const type = getString(b, "type");
    if (type == "tool_use") {
      while (this.toolIndex.length <= index) this.toolIndex.push(-1);
      const ti = this.tools++;
      unchecked((this.toolIndex[index] = ti));
      const delta = toolCallDelta(ti, nonNull(getString(b, "id"), ""), nonNull(getString(b, "name"), ""), "");
      writeChatChunk(this.out, this.header, this.role(), null, null, delta);
    } else if (type == "text") {
      const t = getString(b, "text");
      if (t != null && t.length > 0) this.text_(t);
    }
    return null;
  }

  private onBlockDelta(o: JSON.Obj): string | null {
    const d = getObj(o, "delta");
    if (d == null) return null;
    const type = getString(d, "type");
    if (type == "text_delta") {
      const t = getString(d, "text");
      if (t != null) this.text_(t);
    } else if (type == "input_json_delta") {
      const index = blockIndex(o);
      const part = getString(d, "partial_json");
      if (part == null || part.length == 0 || index < 0 || index >= this.toolIndex.length) return null;
      const ti = unchecked(this.toolIndex[index]);
      if (ti < 0) return null;
      writeChatChunk(this.out, this.header, this.role(), null, null, toolCallDelta(ti, null, null, part));
    }
    // thinking_delta, signature_delta, citations_delta: no OpenAI equivalent.
    return null;
  }

  private text_(t: string): void {
    writeChatChunk(this.out, this.header, this.role(), t, null);
    this.collect(t);
  }

  private onMessageDelta(o: JSON.Obj): string | null {
    const u = getObj(o, "usage");
    if (u != null) {
      const out = countAt(u, "output_tokens");
      if (out >= 0) this.usage.completionTokens = out;
      const pt = promptTokensOf(u);
      if (pt >= 0) this.usage.promptTokens = pt;
      this.usage.totalTokens = -1;
      this.usage.complete();
    }
    const d = getObj(o, "delta");
    const reason = d != null ? getString(d, "stop_reason") : null;
    if (reason != null) writeChatChunk(this.out, this.header, this.role(), null, anthropicFinishReason(reason));
    return null;
  }

  /** Legacy /v1/complete stream: `completion` events with a text piece; the last carries stop_reason. */
  private onCompletion(o: JSON.Obj): string | null {
    const model = getString(o, "model");
    if (model != null && model.length > 0) {
      this.model = model;
      this.header.model = model;
    }
    const t = getString(o, "completion");
    const reason = anthropicFinishReason(getString(o, "stop_reason"));
    if (t != null && t.length > 0) {
      writeChatChunk(this.out, this.header, this.role(), t, null);
      this.collect(t);
    }
    if (reason != null) {
      // The legacy stream's end marker is the completion that carries stop_reason.
      writeChatChunk(this.out, this.header, null, "", reason);
      this.done();
    }
    return null;
  }
}
