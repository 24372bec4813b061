// Google Gemini API (generativelanguage.googleapis.com, API key in `x-goog-api-key` or the
// `key` query parameter): chat over /v1beta/models/{model}:streamGenerateContent?alt=sse,
// embeddings over /v1beta/models/{model}:batchEmbedContents. Responses: gemini-response.ts.
// https://ai.google.dev/api/generate-content , https://ai.google.dev/api/embeddings
//
// Decisions:
// - Chat always asks for the SSE stream: stock Envoy fixes :path in on_request_headers,
//   before the body's `stream` flag is known, and Gemini picks streaming by path. A client
//   that did not ask to stream gets one chat.completion aggregated from the whole stream
//   (upstreamAlwaysStreams; the filter buffers it for translateResponse).
// - model.name is required (it is in the path) and cannot be a template; a leading
//   "models/" is accepted. Completions are refused (Kong: chat only). Vertex AI
//   (model.options.gemini, GCP service accounts) is refused by the config parser.
// - Each system/developer message is one text part of `systemInstruction` (Kong joins them
//   into one); gemini-1.0 models refuse system prompts, as in Kong.
// - Consecutive turns of one role are merged: Gemini wants every function response for one
//   model turn in the next user turn.
// - tools[].function.parameters go to `parametersJsonSchema` (full JSON Schema, as OpenAI
//   clients write it); `parameters` takes only an OpenAPI subset and refuses e.g.
//   additionalProperties, which OpenAI's strict mode requires.
// - A tool result becomes a functionResponse named after the assistant call with that
//   tool_call_id; its content is the response object when it is a JSON object, else
//   {"output": text} (the key Gemini documents for function output).
// - A tool call's `extra_content.google.thought_signature` (see gemini-response.ts) goes back
//   as its part's thoughtSignature.
// - Sampling: temperature and topP as given; topK clamped to 40 (the largest every Gemini
//   model accepts) and omitted when 0; seed must be a 32-bit integer.
// - image_url: data: URLs → inlineData, other URLs → fileData with the MIME type guessed
//   from the extension (omitted when unknown; Kong sends "image/generic").

import { JSON } from "json-as";
import { arrAt, getArr, getObj, getString, parseObject, valueArr, valueObj, valueString } from "../../json";
import { JsonWriter } from "../json-writer";
import {
  LlmRequest,
  Provider,
  RouteType,
  routeTypeName,
  StreamTranslator,
  TranslatedRequest,
  TranslatedResponse,
  Header,
  UNSET,
} from "../provider";
import { bodyNumber, contentText, imageUrlOf, inputTexts, JsonOrError, objJson, parseDataUrl, stopList, writeStringList, writeValue } from "./native-shared";
import { functionTools, toolChoice, ToolChoiceKind } from "./openai-tools";
import { geminiError, GeminiStreamTranslator, translateGeminiChat, translateGeminiEmbeddings } from "./gemini-response";

/** The largest topK every Gemini model accepts (1.5 and 2.0: [1, 41)). */
const GEMINI_MAX_TOP_K: i64 = 40;

/** The model id for the path: model.name without a leading "models/". */
export function geminiModelId(name: string): string {
  return name.startsWith("models/") ? name.substring(7) : name;
}

/** Model ids are path segments: letters, digits, '.', '-' and '_' only. */
function validModelId(id: string): bool {
  if (id.length == 0) return false;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f;
    if (!ok) return false;
  }
  return true;
}

/** A MIME type for a file URL from its extension, or null when unknown. */
function mimeFromUrl(url: string): string | null {
  let end = url.length;
  const q = url.indexOf("?");
  if (q >= 0) end = q;
  const h = url.indexOf("#");
  if (h >= 0 && h < end) end = h;
  const path = url.substring(0, end).toLowerCase();
  const dot = path.lastIndexOf(".");
  if (dot < 0 || path.lastIndexOf("/") > dot) return null;
  const ext = path.substring(dot + 1);
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  if (ext == "heic") return "image/heic";
  if (ext == "heif") return "image/heif";
  if (ext == "pdf") return "application/pdf";
  if (ext == "mp3") return "audio/mp3";
  if (ext == "wav") return "audio/wav";
  if (ext == "mp4") return "video/mp4";
  return null;
}

function textPart(text: string): string {
  const w = new JsonWriter();
  w.beginObject().fieldString("text", text).endObject();
  return w.out.toString();
}

function inlineDataPart(mimeType: string, data: string): string {
  const w = new JsonWriter();
  w.beginObject().key("inlineData").beginObject().fieldString("mimeType", mimeType).fieldString("data", data).endObject().endObject();
  return w.out.toString();
}

/** One Gemini `Content` being built: role "user" or "model" and its serialized parts. */
class Turn {
  parts: string[] = [];
  constructor(public role: string) {}
}

/** Builds `contents` and `systemInstruction` from OpenAI messages. */
class ContentsBuilder {
  systems: string[] = [];
  turns: Turn[] = [];
  error: string | null = null;
  /** tool_call id → function name, from the assistant messages (functionResponse needs the name). */
  callNames: Map<string, string> = new Map();

  constructor(msgs: JSON.Arr) {
    for (let i = 0; i < msgs.length; i++) {
      const m = valueObj(arrAt(msgs, i));
      const calls = m != null ? getArr(m, "tool_calls") : null;
      if (calls == null) continue;
      for (let j = 0; j < calls.length; j++) {
        const c = valueObj(arrAt(calls, j));
        if (c == null) continue;
        const id = getString(c, "id");
        const fn = getObj(c, "function");
        const name = fn != null ? getString(fn, "name") : null;
        if (id != null && name != null) this.callNames.set(id, name);
      }
    }
  }

  /** Appends parts under `role`, merged into the previous turn when it has the same role. */
  add(role: string, parts: string[]): void {
    if (parts.length == 0) return;
    const n = this.turns.length;
    let t: Turn;
    if (n > 0 && unchecked(this.turns[n - 1]).role == role) t = unchecked(this.turns[n - 1]);
    else {
      t = new Turn(role);
      this.turns.push(t);
    }
    for (let i = 0; i < parts.length; i++) t.parts.push(unchecked(parts[i]));
  }

  message(m: JSON.Obj, i: i32): void {
    const at = "messages[" + i.toString() + "]";
    const role = getString(m, "role");
    if (role == null) return;
    const content = m.get("content");
    if (role == "system" || role == "developer") {
      const t = contentText(content, "\n");
      if (t.length > 0) this.systems.push(t);
      return;
    }
    if (role == "user") {
      const parts = this.contentParts(content, at);
      if (parts != null) this.add("user", parts);
      return;
    }
    if (role == "assistant") {
      const parts = new Array<string>();
      const text = contentText(content, "");
      if (text.length > 0) parts.push(textPart(text));
      const calls = getArr(m, "tool_calls");
      if (calls != null) {
        for (let j = 0; j < calls.length && this.error == null; j++) {
          const p = functionCallPart(valueObj(arrAt(calls, j)), at + ".tool_calls[" + j.toString() + "]");
          if (p.error != null) this.error = p.error;
          else parts.push(p.json);
        }
      }
      this.add("model", parts);
      return;
    }
    if (role == "tool" || role == "function") {
      let name: string | null = null;
      if (role == "function") {
        name = getString(m, "name");
        if (name == null) {
          this.error = at + ".name must be a string";
          return;
        }
      } else {
        const id = getString(m, "tool_call_id");
        if (id == null) {
          this.error = at + ".tool_call_id must be a string";
          return;
        }
        if (!this.callNames.has(id)) {
          this.error = at + ".tool_call_id '" + id + "' matches no tool call of an assistant message (Gemini needs the function name)";
          return;
        }
        name = this.callNames.get(id);
      }
      this.add("user", [functionResponsePart(name!, contentText(content, ""))]);
      return;
    }
    this.error = at + ".role '" + role + "' is not supported by provider gemini";
  }

  /** OpenAI user content → parts; null with this.error set on an unsupported part. */
  private contentParts(content: JSON.Value | null, at: string): string[] | null {
    const out = new Array<string>();
    const s = valueString(content);
    if (s != null) {
      out.push(textPart(s));
      return out;
    }
    const parts = valueArr(content);
    if (parts == null) return out;
    for (let j = 0; j < parts.length; j++) {
      const p = valueObj(arrAt(parts, j));
      const pat = at + ".content[" + j.toString() + "]";
      if (p == null) {
        this.error = pat + " must be an object";
        return null;
      }
      const type = getString(p, "type");
      if (type == "text" || type == "input_text") {
        const t = getString(p, "text");
        if (t == null) {
          this.error = pat + ".text must be a string";
          return null;
        }
        out.push(textPart(t));
      } else if (type == "image_url") {
        const url = imageUrlOf(p);
        if (url == null) {
          this.error = pat + ".image_url.url must be a string";
          return null;
        }
        out.push(urlPart(url));
      } else if (type == "input_audio") {
        const a = getObj(p, "input_audio");
        const data = a != null ? getString(a, "data") : null;
        const format = a != null ? getString(a, "format") : null;
        if (data == null || format == null) {
          this.error = pat + ".input_audio needs data and format";
          return null;
        }
        out.push(inlineDataPart("audio/" + format, data));
      } else if (type == "file") {
        const f = getObj(p, "file");
        const fd = f != null ? getString(f, "file_data") : null;
        const d = fd != null ? parseDataUrl(fd) : null;
        if (d == null) {
          this.error = pat + ": provider gemini takes files as file.file_data base64 data: URLs (file_id is not supported)";
          return null;
        }
        out.push(inlineDataPart(d.mediaType, d.data));
      } else {
        this.error = pat + ": content part type '" + (type != null ? type! : "(none)") + "' is not supported by provider gemini";
        return null;
      }
    }
    return out;
  }
}

/** An image or file URL: a base64 data: URL inline, anything else by reference. */
function urlPart(url: string): string {
  const d = parseDataUrl(url);
  if (d != null) return inlineDataPart(d.mediaType, d.data);
  const w = new JsonWriter();
  w.beginObject().key("fileData").beginObject();
  const mime = mimeFromUrl(url);
  if (mime != null) w.fieldString("mimeType", mime);
  w.fieldString("fileUri", url).endObject().endObject();
  return w.out.toString();
}

/**
 * An OpenAI tool call → `{"functionCall":{"name","args"}}` (`arguments` must hold a JSON
 * object), with the `thoughtSignature` gemini-response.ts put in `extra_content`.
 */
function functionCallPart(call: JSON.Obj | null, at: string): JsonOrError {
  const r = new JsonOrError();
  const fn = call != null ? getObj(call, "function") : null;
  const name = fn != null ? getString(fn, "name") : null;
  if (name == null) {
    r.error = at + " needs function.name";
    return r;
  }
  const args = getString(fn!, "arguments");
  let input: JSON.Obj | null = new JSON.Obj();
  if (args != null && args.trim().length > 0) input = parseObject(Uint8Array.wrap(String.UTF8.encode(args))).value;
  if (input == null) {
    r.error = at + ".function.arguments must be a JSON object";
    return r;
  }
  const w = new JsonWriter();
  w.beginObject().key("functionCall").beginObject().fieldString("name", name).key("args").rawString(objJson(input!)).endObject();
  const extra = getObj(call!, "extra_content");
  const google = extra != null ? getObj(extra, "google") : null;
  const sig = google != null ? getString(google, "thought_signature") : null;
  if (sig != null) w.fieldString("thoughtSignature", sig);
  w.endObject();
  r.json = w.out.toString();
  return r;
}

/** A tool result → `{"functionResponse":{"name","response"}}`. */
function functionResponsePart(name: string, text: string): string {
  const w = new JsonWriter();
  w.beginObject().key("functionResponse").beginObject().fieldString("name", name).key("response");
  const trimmed = text.trim();
  const o = trimmed.startsWith("{") ? parseObject(Uint8Array.wrap(String.UTF8.encode(trimmed))).value : null;
  if (o != null) w.rawString(objJson(o));
  else w.beginObject().fieldString("output", text).endObject();
  w.endObject().endObject();
  return w.out.toString();
}

export class GeminiProvider extends Provider {
  validate(route: RouteType): string | null {
    const name = this.config.name;
    if (name.length == 0) return "model.name is required for provider gemini (the model is part of the upstream path)";
    if (name.indexOf("$(") >= 0) return "model.name cannot be a template for provider gemini (the model is part of the upstream path, set before the request is read)";
    if (!validModelId(geminiModelId(name))) return "model.name '" + name + "' is not a Gemini model id (letters, digits, '.', '-' and '_', optionally after 'models/')";
    if (route == RouteType.Completions) return "route_type llm/v1/completions is not supported by provider gemini (use llm/v1/chat)";
    return super.validate(route);
  }

  defaultBaseUrl(): string {
    return "https://generativelanguage.googleapis.com";
  }

  defaultPath(route: RouteType): string | null {
    const id = geminiModelId(this.config.name);
    if (route == RouteType.Chat) return "/v1beta/models/" + id + ":streamGenerateContent";
    if (route == RouteType.Embeddings) return "/v1beta/models/" + id + ":batchEmbedContents";
    if (route == RouteType.Preserve) return "";
    return null;
  }

  defaultQuery(route: RouteType): Header[] {
    // SSE framing; without it streamGenerateContent answers one JSON array.
    if (route == RouteType.Chat) return [new Header("alt", "sse")];
    return [];
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
    if (req.route == RouteType.Chat) return this.chatRequest(req);
    if (req.route == RouteType.Embeddings) return this.embedRequest(req);
    return TranslatedRequest.fail("route_type " + routeTypeName(req.route) + " is not supported by provider gemini");
  }

  private chatRequest(req: LlmRequest): TranslatedRequest {
    const body = req.body;
    const msgs = getArr(body, "messages");
    if (msgs == null) return TranslatedRequest.fail("'messages' must be an array");
    const b = new ContentsBuilder(msgs);
    for (let i = 0; i < msgs.length && b.error == null; i++) {
      const m = valueObj(arrAt(msgs, i));
      if (m != null) b.message(m, i);
    }
    if (b.error != null) return TranslatedRequest.fail(b.error!);
    if (b.turns.length == 0) return TranslatedRequest.fail("provider gemini needs at least one user or assistant message");
    if (b.systems.length > 0 && geminiModelId(req.model).startsWith("gemini-1.0")) return TranslatedRequest.fail("system prompts aren't supported on gemini-1.0 models");

    const w = new JsonWriter();
    w.beginObject().key("contents").beginArray();
    for (let i = 0; i < b.turns.length; i++) {
      const t = unchecked(b.turns[i]);
      w.beginObject().fieldString("role", t.role).key("parts").beginArray();
      for (let j = 0; j < t.parts.length; j++) w.rawString(unchecked(t.parts[j]));
      w.endArray().endObject();
    }
    w.endArray();
    if (b.systems.length > 0) {
      w.key("systemInstruction").beginObject().key("parts").beginArray();
      for (let i = 0; i < b.systems.length; i++) w.rawString(textPart(unchecked(b.systems[i])));
      w.endArray().endObject();
    }
    const err = this.generationConfig(w, req);
    if (err != null) return TranslatedRequest.fail(err);
    const terr = this.tools(w, body);
    if (terr != null) return TranslatedRequest.fail(terr);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  /** `generationConfig` from the tuning fields, stop, penalties, seed and response_format (omitted when empty). */
  private generationConfig(w: JsonWriter, req: LlmRequest): string | null {
    const body = req.body;
    const g = new JsonWriter();
    g.beginObject();
    let any = false;
    if (req.maxTokens != UNSET) {
      g.fieldInt("maxOutputTokens", req.maxTokens);
      any = true;
    }
    if (!isNaN(req.temperature)) {
      g.fieldNumber("temperature", req.temperature);
      any = true;
    }
    if (!isNaN(req.topP)) {
      g.fieldNumber("topP", req.topP);
      any = true;
    }
    // topK: Gemini 1.5 and 2.0 refuse values outside [1, 41) ("supported range is from 1
    // (inclusive) to 41 (exclusive)"), later models allow up to 64: clamp to 40, which every
    // model takes; 0 ("off") is omitted.
    if (req.topK != UNSET && req.topK >= 1) {
      g.fieldInt("topK", min<i64>(req.topK, GEMINI_MAX_TOP_K));
      any = true;
    }
    const stop = stopList(body);
    if (stop != null && stop.length > 0) {
      writeStringList(g, "stopSequences", stop);
      any = true;
    }
    const pp = bodyNumber(body, "presence_penalty");
    if (!isNaN(pp)) {
      g.fieldNumber("presencePenalty", pp);
      any = true;
    }
    const fp = bodyNumber(body, "frequency_penalty");
    if (!isNaN(fp)) {
      g.fieldNumber("frequencyPenalty", fp);
      any = true;
    }
    const seed = bodyNumber(body, "seed");
    if (!isNaN(seed)) {
      if (seed != Math.floor(seed) || Math.abs(seed) > 2147483647) return "'seed' must be a 32-bit integer for provider gemini";
      g.fieldInt("seed", <i64>seed);
      any = true;
    }
    const rf = getObj(body, "response_format");
    if (rf != null) {
      const type = getString(rf, "type");
      if (type == "json_object") {
        g.fieldString("responseMimeType", "application/json");
        any = true;
      } else if (type == "json_schema") {
        const js = getObj(rf, "json_schema");
        const schema = js != null ? getObj(js, "schema") : null;
        if (schema == null) return "response_format.json_schema.schema must be an object";
        g.fieldString("responseMimeType", "application/json").key("responseJsonSchema").rawString(objJson(schema));
        any = true;
      } else if (type != null && type != "text") {
        return "response_format.type '" + type + "' is not one of text, json_object, json_schema";
      }
    }
    g.endObject();
    if (any) w.key("generationConfig").rawString(g.out.toString());
    return null;
  }

  /** tools[].function → functionDeclarations; tool_choice → toolConfig.functionCallingConfig. */
  private tools(w: JsonWriter, body: JSON.Obj): string | null {
    const arr = getArr(body, "tools");
    if (arr == null || arr.length == 0) return null;
    const tools = functionTools(arr, "gemini");
    if (tools.error != null) return tools.error;
    w.key("tools").beginArray().beginObject().key("functionDeclarations").beginArray();
    for (let i = 0; i < tools.list.length; i++) {
      const t = unchecked(tools.list[i]);
      w.beginObject().fieldString("name", t.name);
      if (t.description != null) w.fieldString("description", t.description!);
      if (t.parameters != null) {
        if (valueObj(t.parameters) == null) return "tools[" + i.toString() + "].function.parameters must be an object";
        w.key("parametersJsonSchema");
        writeValue(w, t.parameters);
      }
      w.endObject();
    }
    w.endArray().endObject().endArray();
    const tc = toolChoice(body);
    if (tc.error != null) return tc.error;
    if (tc.kind == ToolChoiceKind.Absent) return null;
    let mode = "AUTO";
    if (tc.kind == ToolChoiceKind.None) mode = "NONE";
    else if (tc.kind == ToolChoiceKind.Required || tc.kind == ToolChoiceKind.Function) mode = "ANY";
    w.key("toolConfig").beginObject().key("functionCallingConfig").beginObject().fieldString("mode", mode);
    if (tc.name != null) w.key("allowedFunctionNames").beginArray().string(tc.name!).endArray();
    w.endObject().endObject();
    return null;
  }

  /** batchEmbedContents: one request per input text, each naming the model (Gemini requires it to match the path's). */
  private embedRequest(req: LlmRequest): TranslatedRequest {
    const texts = inputTexts(req.body);
    if (texts == null) return TranslatedRequest.fail("provider gemini takes 'input' as a string or an array of strings");
    if (texts.length == 0) return TranslatedRequest.fail("'input' must not be empty");
    const dims = bodyNumber(req.body, "dimensions");
    if (!isNaN(dims) && (dims != Math.floor(dims) || dims < 1 || dims > 1e6)) return TranslatedRequest.fail("'dimensions' must be a positive integer");
    const model = "models/" + geminiModelId(req.model);
    const w = new JsonWriter();
    w.beginObject().key("requests").beginArray();
    for (let i = 0; i < texts.length; i++) {
      w.beginObject().fieldString("model", model);
      w.key("content").beginObject().key("parts").beginArray().rawString(textPart(unchecked(texts[i]))).endArray().endObject();
      if (!isNaN(dims)) w.fieldInt("outputDimensionality", <i64>dims);
      w.endObject();
    }
    w.endArray().endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    if (req.route == RouteType.Embeddings) return translateGeminiEmbeddings(req, body);
    return translateGeminiChat(req, body);
  }

  translateError(status: u32, body: Uint8Array): Uint8Array {
    return geminiError(status, body);
  }

  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new GeminiStreamTranslator(req);
  }

  upstreamAlwaysStreams(): bool {
    return true;
  }
}
