// Ollama's native API, for llama2 (llama2_format=ollama) and mistral (mistral_format=ollama):
// chat over /api/chat, completions over /api/generate, embeddings over /api/embed. As in
// Kong, these need model.options.upstream_url (a self-hosted Ollama; its path is used as is).
// https://github.com/ollama/ollama/blob/main/docs/api.md
//
// Decisions:
// - `stream` is always sent: Ollama streams unless told `false`.
// - Tuning goes in `options` (num_predict, temperature, top_p, top_k, stop, seed, penalties).
// - Images must be data: URLs (Ollama takes base64 `images`, it does not fetch URLs).
// - finish_reason: done_reason stop/length, "tool_calls" when the model called tools; with
//   no done_reason, Kong's rule (length when eval_count reached max_tokens, else stop).

import { JSON } from "json-as";
import { arrAt, getArr, getBool, getObj, getString, isNull, parseObject, valueArr, valueObj, valueString } from "../../json";
import { JsonWriter } from "../json-writer";
import { findMember, scanObject } from "../json-scan";
import { errorBody, errorTypeForStatus, genericError } from "../errors";
import { ChatChoice, EmbeddingItem, makeId, TextChoice, writeChatChunk, writeChatCompletion, writeEmbeddings, writeTextCompletion } from "../format";
import { LlmRequest, Provider, RouteType, routeTypeName, StreamTranslator, TranslatedRequest, TranslatedResponse, UNSET, Usage } from "../provider";
import { NdjsonStreamTranslator } from "../stream";
import {
  bodyNumber,
  contentText,
  countAt,
  elementSpans,
  embeddingJson,
  imageUrlOf,
  inputTexts,
  objJson,
  parseDataUrl,
  pathSpan,
  setUsage,
  singlePrompt,
  stopList,
  wantsBase64,
  writeStreamEnd,
  writeStringList,
  writeToolCall,
  writeValue,
} from "./native-shared";

/** The finish_reason for a final Ollama object. */
function finishReason(o: JSON.Obj, req: LlmRequest, calledTools: bool): string {
  if (calledTools) return "tool_calls";
  const d = getString(o, "done_reason");
  if (d != null && d == "length") return "length";
  if (d != null && d.length > 0) return "stop"; // stop, load, unload
  const evals = countAt(o, "eval_count");
  return req.maxTokens != UNSET && evals == req.maxTokens ? "length" : "stop";
}

function readUsage(o: JSON.Obj, u: Usage): void {
  setUsage(u, countAt(o, "prompt_eval_count"), countAt(o, "eval_count"));
}

/** OpenAI tool calls (arguments as a JSON string) → Ollama's (arguments as an object). Returns an error or null. */
function writeToolCalls(w: JsonWriter, calls: JSON.Arr, at: string): string | null {
  w.key("tool_calls").beginArray();
  for (let j = 0; j < calls.length; j++) {
    const c = valueObj(arrAt(calls, j));
    const cat = at + ".tool_calls[" + j.toString() + "]";
    const fn = c != null ? getObj(c, "function") : null;
    const name = fn != null ? getString(fn, "name") : null;
    if (fn == null || name == null) return cat + " needs function.name";
    const args = getString(fn, "arguments");
    let input: JSON.Obj | null = new JSON.Obj();
    if (args != null && args.trim().length > 0) input = parseObject(Uint8Array.wrap(String.UTF8.encode(args))).value;
    if (input == null) return cat + ".function.arguments must be a JSON object";
    w.beginObject().key("function").beginObject().fieldString("name", name).key("arguments").rawString(objJson(input!)).endObject().endObject();
  }
  w.endArray();
  return null;
}

export class OllamaProvider extends Provider {
  validate(route: RouteType): string | null {
    if (this.config.options.upstreamUrl.length == 0) {
      const f = this.config.provider == "mistral" ? "mistral_format" : "llama2_format";
      return "model.options.upstream_url is required for provider " + this.config.provider + " with " + f + "=ollama";
    }
    return super.validate(route);
  }

  defaultBaseUrl(): string {
    return "http://localhost:11434";
  }

  defaultPath(route: RouteType): string | null {
    if (route == RouteType.Chat) return "/api/chat";
    if (route == RouteType.Completions) return "/api/generate";
    if (route == RouteType.Embeddings) return "/api/embed";
    return "";
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
    if (req.route == RouteType.Chat) return this.chatRequest(req);
    if (req.route == RouteType.Completions) return this.generateRequest(req);
    if (req.route == RouteType.Embeddings) return this.embedRequest(req);
    return TranslatedRequest.fail("route_type " + routeTypeName(req.route) + " is not supported by provider " + this.name + " (ollama format)");
  }

  private chatRequest(req: LlmRequest): TranslatedRequest {
    const body = req.body;
    const msgs = getArr(body, "messages");
    if (msgs == null) return TranslatedRequest.fail("'messages' must be an array");
    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model).key("messages").beginArray();
    for (let i = 0; i < msgs.length; i++) {
      const m = valueObj(arrAt(msgs, i));
      if (m == null) continue;
      const err = this.message(w, m, "messages[" + i.toString() + "]");
      if (err != null) return TranslatedRequest.fail(err);
    }
    w.endArray();
    w.fieldBool("stream", req.stream);
    this.options(w, req);
    // Tools are OpenAI's format already: copied byte for byte.
    const tools = getArr(body, "tools");
    if (tools != null && tools.length > 0) {
      const ms = scanObject(req.raw);
      const t = ms != null ? findMember(ms, "tools") : null;
      if (t != null) w.key("tools").rawRange(req.raw, t.valueStart, t.valueEnd);
    }
    const rf = getObj(body, "response_format");
    if (rf != null) {
      const type = getString(rf, "type");
      const js = getObj(rf, "json_schema");
      const schema = js != null ? getObj(js, "schema") : null;
      if (type == "json_object") w.fieldString("format", "json");
      else if (type == "json_schema" && schema != null) w.key("format").rawString(objJson(schema));
    }
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  /** One OpenAI message → an Ollama message (content string, images, tool_calls). */
  private message(w: JsonWriter, m: JSON.Obj, at: string): string | null {
    let role = getString(m, "role");
    if (role == null) return null;
    if (role == "developer") role = "system";
    if (role == "function") return at + ": role 'function' is not supported by provider " + this.name + " (use tool messages)";
    const content = m.get("content");
    const images = new Array<string>();
    const parts = valueArr(content);
    if (parts != null) {
      for (let j = 0; j < parts.length; j++) {
        const p = valueObj(arrAt(parts, j));
        if (p == null) continue;
        const type = getString(p, "type");
        if (type == null || type == "text" || type == "input_text") continue;
        if (type != "image_url") return at + ".content[" + j.toString() + "]: content part type '" + type + "' is not supported by provider " + this.name + " (ollama format)";
        const url = imageUrlOf(p);
        const d = url != null ? parseDataUrl(url) : null;
        if (d == null) return at + ".content[" + j.toString() + "]: only base64 data: URLs are supported for images by provider " + this.name + " (ollama format)";
        images.push(d.data);
      }
    }
    w.beginObject().fieldString("role", role).fieldString("content", contentText(content, "\n"));
    if (images.length > 0) writeStringList(w, "images", images);
    const calls = getArr(m, "tool_calls");
    if (role == "assistant" && calls != null && calls.length > 0) {
      const err = writeToolCalls(w, calls, at);
      if (err != null) return err;
    }
    w.endObject();
    return null;
  }

  /** `options`: num_predict, temperature, top_p, top_k, stop, seed and the penalties. */
  private options(w: JsonWriter, req: LlmRequest): void {
    const stop = stopList(req.body);
    const keys = ["seed", "frequency_penalty", "presence_penalty"];
    let any = req.maxTokens != UNSET || !isNaN(req.temperature) || !isNaN(req.topP) || req.topK != UNSET || (stop != null && stop.length > 0);
    for (let i = 0; i < keys.length; i++) if (!isNaN(bodyNumber(req.body, unchecked(keys[i])))) any = true;
    if (!any) return;
    w.key("options").beginObject();
    if (req.maxTokens != UNSET) w.fieldInt("num_predict", req.maxTokens);
    if (!isNaN(req.temperature)) w.fieldNumber("temperature", req.temperature);
    if (!isNaN(req.topP)) w.fieldNumber("top_p", req.topP);
    if (req.topK != UNSET) w.fieldInt("top_k", req.topK);
    if (stop != null && stop.length > 0) writeStringList(w, "stop", stop);
    for (let i = 0; i < keys.length; i++) {
      const v = bodyNumber(req.body, unchecked(keys[i]));
      if (!isNaN(v)) w.fieldNumber(unchecked(keys[i]), v);
    }
    w.endObject();
  }

  private generateRequest(req: LlmRequest): TranslatedRequest {
    const prompt = singlePrompt(req.body);
    if (prompt == null) return TranslatedRequest.fail("provider " + this.name + " (ollama format) takes one 'prompt' string");
    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model).fieldString("prompt", prompt);
    const suffix = getString(req.body, "suffix");
    if (suffix != null) w.fieldString("suffix", suffix);
    w.fieldBool("stream", req.stream);
    this.options(w, req);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  private embedRequest(req: LlmRequest): TranslatedRequest {
    const texts = inputTexts(req.body);
    if (texts == null) return TranslatedRequest.fail("provider " + this.name + " (ollama format) takes 'input' as a string or an array of strings");
    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model);
    const single = valueString(req.body.get("input"));
    if (single != null) w.fieldString("input", single);
    else writeStringList(w, "input", texts);
    const dims = bodyNumber(req.body, "dimensions");
    if (!isNaN(dims)) w.fieldNumber("dimensions", dims);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    const what = this.name + "://" + routeTypeName(req.route) + "/ollama";
    const p = parseObject(body);
    if (p.value == null) return TranslatedResponse.fail("transformation failed from type " + what + ": response is not a JSON object");
    const o = p.value!;
    const r = new TranslatedResponse();
    const model = getString(o, "model");
    if (model != null) r.model = model;
    const outModel = r.model.length > 0 ? r.model : req.model;
    readUsage(o, r.usage);
    const id = req.requestId.length > 0 ? req.requestId : makeId(req.route == RouteType.Completions ? "cmpl-" : "chatcmpl-");
    if (req.route == RouteType.Embeddings) {
      const vectors = pathSpan(body, ["embeddings"]);
      const list = vectors != null ? elementSpans(body, vectors!) : null;
      if (list == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'embeddings' not in " + what + " response");
      const base64 = wantsBase64(req.body);
      const items = new Array<EmbeddingItem>();
      for (let i = 0; i < list.length; i++) {
        const v = embeddingJson(body, unchecked(list[i]), base64);
        if (v == null) return TranslatedResponse.fail("transformation failed from type " + what + ": an embedding is not an array of numbers");
        items.push(new EmbeddingItem(i, v));
      }
      r.usage.completionTokens = -1;
      r.usage.totalTokens = r.usage.promptTokens;
      r.body = writeEmbeddings(outModel, items, r.usage);
      return r;
    }
    if (req.route == RouteType.Completions) {
      const text = getString(o, "response");
      if (text == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'response' not in " + what + " response");
      const c = new TextChoice();
      c.text = text;
      c.finishReason = finishReason(o, req, false);
      r.body = writeTextCompletion(id, outModel, req.created, [c], r.usage);
      return r;
    }
    const msg = getObj(o, "message");
    if (msg == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'message' not in " + what + " response");
    const c = new ChatChoice();
    const text = getString(msg, "content");
    const calls = getArr(msg, "tool_calls");
    if (calls != null && calls.length > 0) {
      const w = new JsonWriter();
      w.beginArray();
      for (let i = 0; i < calls.length; i++) writeOllamaCall(w, valueObj(arrAt(calls, i)), -1);
      w.endArray();
      c.toolCallsJson = w.out.toString();
      c.content = text != null && text.length > 0 ? text : null;
    } else {
      c.content = text != null ? text : "";
    }
    c.finishReason = finishReason(o, req, c.toolCallsJson != null);
    r.body = writeChatCompletion(id, outModel, req.created, [c], r.usage);
    return r;
  }

  /** Ollama's `{"error": "..."}`; plain-text bodies (Go's "404 page not found") via the generic reader. */
  translateError(status: u32, body: Uint8Array): Uint8Array {
    const p = parseObject(body);
    if (p.value != null) {
      const m = getString(p.value!, "error");
      if (m != null && m.length > 0) return errorBody(m, errorTypeForStatus(status), null);
    }
    return genericError(status, body);
  }

  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new OllamaStreamTranslator(req);
  }
}

/** An Ollama tool call `{function:{name, arguments:{}}}` (optional id) → OpenAI's, arguments serialized. */
function writeOllamaCall(w: JsonWriter, c: JSON.Obj | null, index: i32): void {
  const fn = c != null ? getObj(c, "function") : null;
  let id = c != null ? getString(c, "id") : null;
  if (id == null || id.length == 0) id = makeId("call_");
  const name = fn != null ? getString(fn, "name") : null;
  let args = "{}";
  if (fn != null) {
    const a = fn.get("arguments");
    const s = valueString(a);
    if (s != null) args = s;
    else if (a != null && !isNull(a)) {
      const aw = new JsonWriter();
      writeValue(aw, a);
      args = aw.out.toString();
    }
  }
  writeToolCall(w, index, id, name != null ? name : "", args);
}

/**
 * Ollama NDJSON → OpenAI chunks: each `message.content` (chat) or `response` (generate)
 * piece becomes a chunk, `message.tool_calls` a tool-call delta, and the `done: true` line
 * the finish chunk with usage (prompt_eval_count, eval_count). An `{"error"}` line ends
 * the stream with an error frame.
 */
export class OllamaStreamTranslator extends NdjsonStreamTranslator {
  private started: bool = false;
  private tools: i32 = 0;

  onLine(line: Uint8Array): string | null {
    const p = parseObject(line);
    if (p.value == null) return "upstream sent an invalid stream line: " + p.error!;
    const o = p.value!;
    const err = getString(o, "error");
    if (err != null) return err;
    const model = getString(o, "model");
    if (model != null && model.length > 0 && this.model.length == 0) {
      this.model = model;
      this.header.model = model;
    }
    const msg = getObj(o, "message");
    let text: string | null = null;
    if (msg != null) {
      text = getString(msg, "content");
      const calls = getArr(msg, "tool_calls");
      if (calls != null) {
        for (let i = 0; i < calls.length; i++) {
          const w = new JsonWriter();
          w.beginArray();
          writeOllamaCall(w, valueObj(arrAt(calls, i)), this.tools++);
          w.endArray();
          writeChatChunk(this.out, this.header, this.role(), null, null, w.out.toString());
        }
      }
    } else {
      text = getString(o, "response");
    }
    if (text != null && (text.length > 0 || !this.started)) {
      writeChatChunk(this.out, this.header, this.role(), text, null);
      this.collect(text);
    }
    if (getBool(o, "done", false)) {
      readUsage(o, this.usage);
      writeStreamEnd(this.out, this.header, this.req, finishReason(o, this.req, this.tools > 0), this.usage);
      this.done();
    }
    return null;
  }

  private role(): string | null {
    if (this.started) return null;
    this.started = true;
    return "assistant";
  }
}
