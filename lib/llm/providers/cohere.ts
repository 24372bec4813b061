// Cohere (api.cohere.com): chat over v1 /v1/chat (message + chat_history + preamble),
// completions over v1 /v1/generate, embeddings over v2 /v2/embed (as Kong 3.11+).
// https://docs.cohere.com/v1/reference/chat , /v1/reference/generate , /reference/embed
//
// Decisions:
// - Leading system/developer messages become `preamble`; later ones SYSTEM turns in
//   chat_history. The last message must be the user's: it becomes `message`.
// - Tools are not translated (v1 takes `parameter_definitions`, not JSON Schema): a request
//   with tools or tool messages is refused with a 400 that says so, never silently dropped.
// - Usage is meta.billed_units (what Cohere bills, as Kong reads it); meta.tokens, which
//   also counts Cohere's prompt template, is the fallback.
// - Embeddings send input_type "search_document" unless the client passes Cohere's
//   `input_type`; `dimensions` becomes `output_dimension`.

import { JSON } from "json-as";
import { arrAt, getArr, getBool, getObj, getString, parseObject, valueObj } from "../../json";
import { JsonWriter } from "../json-writer";
import { errorBody, errorTypeForStatus, genericError } from "../errors";
import { ChatChoice, EmbeddingItem, TextChoice, writeChatChunk, writeChatCompletion, writeEmbeddings, writeTextCompletion } from "../format";
import { LlmRequest, Provider, RouteType, routeTypeName, StreamTranslator, TranslatedRequest, TranslatedResponse, UNSET, Usage } from "../provider";
import { NdjsonStreamTranslator } from "../stream";
import {
  bodyNumber,
  contentText,
  countAt,
  embeddingJson,
  elementSpans,
  firstNonTextPart,
  inputTexts,
  memberSpan,
  pathSpan,
  setUsage,
  singlePrompt,
  Span,
  stopList,
  wantsBase64,
  writeStreamEnd,
  writeStringList,
} from "./native-shared";

/** Cohere finish_reason → OpenAI's (unknown values pass through lower-cased). */
export function cohereFinishReason(r: string | null): string | null {
  if (r == null) return null;
  if (r == "COMPLETE" || r == "STOP_SEQUENCE" || r == "USER_CANCEL") return "stop";
  if (r == "MAX_TOKENS" || r == "ERROR_LIMIT") return "length";
  if (r == "ERROR_TOXIC") return "content_filter";
  if (r == "TOOL_CALL") return "tool_calls";
  return r.toLowerCase();
}

/** meta.billed_units (v1) or usage.billed_units (v2), else meta.tokens. */
function readUsage(o: JSON.Obj, u: Usage): void {
  let meta = getObj(o, "meta");
  if (meta == null) meta = getObj(o, "usage");
  if (meta == null) return;
  let units = getObj(meta, "billed_units");
  if (units == null || (countAt(units, "input_tokens") < 0 && countAt(units, "output_tokens") < 0)) units = getObj(meta, "tokens");
  if (units == null) return;
  setUsage(u, countAt(units, "input_tokens"), countAt(units, "output_tokens"));
}

export class CohereProvider extends Provider {
  defaultBaseUrl(): string {
    return "https://api.cohere.com:443";
  }

  defaultPath(route: RouteType): string | null {
    if (route == RouteType.Chat) return "/v1/chat";
    if (route == RouteType.Completions) return "/v1/generate";
    if (route == RouteType.Embeddings) return "/v2/embed";
    return "";
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
    if (req.route == RouteType.Chat) return this.chatRequest(req);
    if (req.route == RouteType.Completions) return this.generateRequest(req);
    if (req.route == RouteType.Embeddings) return this.embedRequest(req);
    return TranslatedRequest.fail("route_type " + routeTypeName(req.route) + " is not supported by provider cohere");
  }

  private chatRequest(req: LlmRequest): TranslatedRequest {
    const body = req.body;
    const msgs = getArr(body, "messages");
    if (msgs == null || msgs.length == 0) return TranslatedRequest.fail("'messages' must be a non-empty array");
    const tools = getArr(body, "tools");
    if (tools != null && tools.length > 0) return TranslatedRequest.fail("tools are not supported by provider cohere");
    let preamble = "";
    let leading = true;
    const roles = new Array<string>();
    const texts = new Array<string>();
    for (let i = 0; i < msgs.length; i++) {
      const m = valueObj(arrAt(msgs, i));
      if (m == null) continue;
      const at = "messages[" + i.toString() + "]";
      const role = getString(m, "role");
      const content = m.get("content");
      const bad = firstNonTextPart(content);
      if (bad != null) return TranslatedRequest.fail(at + ": content part type '" + bad + "' is not supported by provider cohere");
      const text = contentText(content, "\n");
      if (role == "system" || role == "developer") {
        if (leading) {
          preamble = preamble.length > 0 ? preamble + "\n" + text : text;
        } else {
          roles.push("SYSTEM");
          texts.push(text);
        }
        continue;
      }
      leading = false;
      if (role == "user") {
        roles.push("USER");
      } else if (role == "assistant") {
        const calls = getArr(m, "tool_calls");
        if (calls != null && calls.length > 0) return TranslatedRequest.fail(at + ": tool calls are not supported by provider cohere");
        roles.push("CHATBOT");
      } else {
        return TranslatedRequest.fail(at + ": role '" + (role != null ? role! : "") + "' is not supported by provider cohere");
      }
      texts.push(text);
    }
    const n = roles.length;
    if (n == 0 || unchecked(roles[n - 1]) != "USER") return TranslatedRequest.fail("the last message must have role user for provider cohere");

    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model).fieldString("message", unchecked(texts[n - 1]));
    if (n > 1) {
      w.key("chat_history").beginArray();
      for (let i = 0; i < n - 1; i++) w.beginObject().fieldString("role", unchecked(roles[i])).fieldString("message", unchecked(texts[i])).endObject();
      w.endArray();
    }
    if (preamble.length > 0) w.fieldString("preamble", preamble);
    this.tuning(w, req);
    w.fieldBool("stream", req.stream);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  /** max_tokens, temperature, p, k, stop_sequences, seed and the penalties (same names in v1 chat and generate). */
  private tuning(w: JsonWriter, req: LlmRequest): void {
    if (req.maxTokens != UNSET) w.fieldInt("max_tokens", req.maxTokens);
    if (!isNaN(req.temperature)) w.fieldNumber("temperature", req.temperature);
    if (!isNaN(req.topP)) w.fieldNumber("p", req.topP);
    if (req.topK != UNSET) w.fieldInt("k", req.topK);
    const stop = stopList(req.body);
    if (stop != null && stop.length > 0) writeStringList(w, "stop_sequences", stop);
    const keys = ["seed", "frequency_penalty", "presence_penalty"];
    for (let i = 0; i < keys.length; i++) {
      const v = bodyNumber(req.body, unchecked(keys[i]));
      if (!isNaN(v)) w.fieldNumber(unchecked(keys[i]), v);
    }
  }

  private generateRequest(req: LlmRequest): TranslatedRequest {
    const prompt = singlePrompt(req.body);
    if (prompt == null) return TranslatedRequest.fail("provider cohere takes one 'prompt' string");
    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model).fieldString("prompt", prompt);
    this.tuning(w, req);
    const n = bodyNumber(req.body, "n");
    if (!isNaN(n) && n > 1) w.fieldNumber("num_generations", n);
    w.fieldBool("stream", req.stream);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  private embedRequest(req: LlmRequest): TranslatedRequest {
    const texts = inputTexts(req.body);
    if (texts == null) return TranslatedRequest.fail("provider cohere takes 'input' as a string or an array of strings");
    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model);
    writeStringList(w, "texts", texts);
    const it = getString(req.body, "input_type");
    w.fieldString("input_type", it != null ? it : "search_document");
    w.key("embedding_types").beginArray().string("float").endArray();
    const dims = bodyNumber(req.body, "dimensions");
    if (!isNaN(dims)) w.fieldNumber("output_dimension", dims);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    const what = "cohere://" + routeTypeName(req.route);
    const p = parseObject(body);
    if (p.value == null) return TranslatedResponse.fail("transformation failed from type " + what + ": response is not a JSON object");
    const o = p.value!;
    const r = new TranslatedResponse();
    readUsage(o, r.usage);
    if (req.route == RouteType.Embeddings) return this.embedResponse(req, body, o, r, what);
    if (req.route == RouteType.Completions) {
      const gens = getArr(o, "generations");
      if (gens == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'generations' not in " + what + " response");
      const choices = new Array<TextChoice>();
      for (let i = 0; i < gens.length; i++) {
        const g = valueObj(arrAt(gens, i));
        if (g == null) continue;
        const c = new TextChoice();
        c.index = choices.length;
        const t = getString(g, "text");
        c.text = t != null ? t : "";
        const fr = cohereFinishReason(getString(g, "finish_reason"));
        c.finishReason = fr != null ? fr : "stop";
        choices.push(c);
      }
      const id = getString(o, "id");
      r.body = writeTextCompletion(id != null ? id : req.requestId, req.model, req.created, choices, r.usage);
      return r;
    }
    // v1 `text`; v2 `message.content[].text`.
    let text = getString(o, "text");
    if (text == null) {
      const msg = getObj(o, "message");
      const parts = msg != null ? getArr(msg, "content") : null;
      if (parts != null) {
        let s = "";
        for (let i = 0; i < parts.length; i++) {
          const part = valueObj(arrAt(parts, i));
          const t = part != null ? getString(part, "text") : null;
          if (t != null) s += t;
        }
        text = s;
      }
    }
    if (text == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'text' not in " + what + " response");
    const c = new ChatChoice();
    c.content = text;
    const fr = cohereFinishReason(getString(o, "finish_reason"));
    c.finishReason = fr != null ? fr : "stop";
    let id = getString(o, "generation_id");
    if (id == null) id = getString(o, "response_id");
    if (id == null) id = getString(o, "id");
    r.body = writeChatCompletion(id != null ? id! : req.requestId, req.model, req.created, [c], r.usage);
    return r;
  }

  /** v2 `embeddings.float` (or v1's `embeddings` array) → OpenAI embeddings, vectors copied byte for byte. */
  private embedResponse(req: LlmRequest, body: Uint8Array, o: JSON.Obj, r: TranslatedResponse, what: string): TranslatedResponse {
    let vectors: Span | null = pathSpan(body, ["embeddings"]);
    if (vectors != null && getObj(o, "embeddings") != null) vectors = memberSpan(body, vectors!, "float");
    const list = vectors != null ? elementSpans(body, vectors!) : null;
    if (list == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'embeddings.float' not in " + what + " response");
    const base64 = wantsBase64(req.body);
    const items = new Array<EmbeddingItem>();
    for (let i = 0; i < list.length; i++) {
      const v = embeddingJson(body, unchecked(list[i]), base64);
      if (v == null) return TranslatedResponse.fail("transformation failed from type " + what + ": an embedding is not an array of numbers");
      items.push(new EmbeddingItem(i, v));
    }
    if (r.usage.promptTokens >= 0) r.usage.totalTokens = r.usage.promptTokens;
    r.body = writeEmbeddings(req.model, items, r.usage);
    return r;
  }

  /** Cohere's `{"message": "..."}`. */
  translateError(status: u32, body: Uint8Array): Uint8Array {
    const p = parseObject(body);
    if (p.value != null) {
      const m = getString(p.value!, "message");
      if (m != null && m.length > 0) return errorBody(m, errorTypeForStatus(status), null);
    }
    return genericError(status, body);
  }

  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new CohereStreamTranslator(req);
  }
}

/**
 * Cohere v1 NDJSON → OpenAI chunks. Chat: stream-start (id, role chunk), text-generation
 * (content), stream-end (finish_reason, usage from response.meta). Generate: `{text,
 * is_finished:false}` lines, then `{is_finished:true, finish_reason, response}`. Other chat
 * events (citations, search results, tool-call plans) have no OpenAI equivalent and are skipped.
 */
export class CohereStreamTranslator extends NdjsonStreamTranslator {
  private started: bool = false;

  onLine(line: Uint8Array): string | null {
    const p = parseObject(line);
    if (p.value == null) return "upstream sent an invalid stream line: " + p.error!;
    const o = p.value!;
    const type = getString(o, "event_type");
    if (type == null) {
      const m = getString(o, "message");
      if (m != null && !o.has("text") && !o.has("is_finished")) return m; // an error object mid-stream
      return this.onGenerate(o);
    }
    if (type == "stream-start") {
      const id = getString(o, "generation_id");
      if (id != null && id.length > 0) this.header.id = id;
      this.emit("");
    } else if (type == "text-generation") {
      const t = getString(o, "text");
      if (t != null) this.emit(t);
    } else if (type == "stream-end") {
      const resp = getObj(o, "response");
      if (resp != null) readUsage(resp, this.usage);
      let fr = getString(o, "finish_reason");
      if (fr == null && resp != null) fr = getString(resp!, "finish_reason");
      if (fr == "ERROR") {
        const e = getString(o, "error");
        return e != null ? e : "upstream stream ended with an error";
      }
      this.end(cohereFinishReason(fr));
    }
    return null;
  }

  private emit(t: string): void {
    const role: string | null = this.started ? null : "assistant";
    this.started = true;
    if (t.length == 0 && role == null) return;
    writeChatChunk(this.out, this.header, role, t, null);
    this.collect(t);
  }

  private end(fr: string | null): void {
    writeStreamEnd(this.out, this.header, this.req, fr != null ? fr : "stop", this.usage);
    this.done();
  }

  /** /v1/generate stream lines. */
  private onGenerate(o: JSON.Obj): string | null {
    if (getBool(o, "is_finished", false)) {
      const resp = getObj(o, "response");
      if (resp != null) {
        readUsage(resp, this.usage);
        const id = getString(resp, "id");
        if (id != null && id.length > 0) this.header.id = id;
      }
      this.end(cohereFinishReason(getString(o, "finish_reason")));
      return null;
    }
    const t = getString(o, "text");
    if (t != null && t.length > 0) this.emit(t);
    return null;
  }
}
