// Cohere (api.cohere.com): chat over v1 /v1/chat (message + chat_history + preamble),
// completions over v1 /v1/generate, embeddings over v2 /v2/embed (as Kong 3.11+).
// https://docs.cohere.com/v1/reference/chat , /v1/reference/generate , /reference/embed
//
// Decisions:
// - Leading system/developer messages become `preamble`; later ones SYSTEM turns in
//   chat_history.
// - The last message must be the user's (it becomes `message`) or tool results (they become
//   `tool_results`, with an empty `message` as v1's multi-step mode requires; the assistant
//   turn with the calls stays in chat_history). Tools: see cohere-tools.ts.
// - A reply with tool_calls finishes with "tool_calls" (v1 says COMPLETE); its text (the
//   model's plan) is kept as content.
// - Usage is meta.billed_units (what Cohere bills, as Kong reads it); meta.tokens, which
//   also counts Cohere's prompt template, is the fallback.
// - Sampling: top_p → p clamped into Cohere's [0.01, 0.99], top_k → k clamped into [0, 500]
//   (Cohere answers 400 outside them); seed and the penalties under their own names.
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
  toolCallDelta,
  wantsBase64,
  writeStreamEnd,
  writeStringList,
} from "./native-shared";
import { CallRegistry, cohereTools, openAiToolCalls, outputsJson, toolCallId, toolPolicy } from "./cohere-tools";

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

/** One chat_history entry (or the final user/tool turn): USER, CHATBOT, SYSTEM or TOOL. */
class Turn {
  message: string = "";
  /** CHATBOT: the serialized Cohere tool_calls array. */
  toolCalls: string | null = null;
  /** TOOL: serialized {call, outputs} results. */
  results: string[] = [];
  constructor(public role: string) {}

  write(w: JsonWriter): void {
    w.beginObject().fieldString("role", this.role);
    if (this.role == "TOOL") {
      writeResults(w, this.results);
    } else {
      w.fieldString("message", this.message);
      if (this.toolCalls != null) w.key("tool_calls").rawString(this.toolCalls!);
    }
    w.endObject();
  }
}

function writeResults(w: JsonWriter, results: string[]): void {
  w.key("tool_results").beginArray();
  for (let i = 0; i < results.length; i++) w.rawString(unchecked(results[i]));
  w.endArray();
}

/** OpenAI messages → preamble and Cohere turns; tool messages find their call by id. */
class Conversation {
  preamble: string = "";
  turns: Turn[] = [];
  private leading: bool = true;
  private calls: CallRegistry = new CallRegistry();

  /** Adds message i; returns an error message or null. */
  add(m: JSON.Obj, i: i32): string | null {
    const at = "messages[" + i.toString() + "]";
    const role = getString(m, "role");
    const content = m.get("content");
    const bad = firstNonTextPart(content);
    if (bad != null) return at + ": content part type '" + bad + "' is not supported by provider cohere";
    const text = contentText(content, "\n");
    if (role == "system" || role == "developer") {
      if (this.leading) this.preamble = this.preamble.length > 0 ? this.preamble + "\n" + text : text;
      else this.push("SYSTEM", text);
      return null;
    }
    this.leading = false;
    if (role == "user") {
      this.push("USER", text);
    } else if (role == "assistant") {
      const t = this.push("CHATBOT", text);
      const list = getArr(m, "tool_calls");
      if (list != null && list.length > 0) {
        const calls = this.calls.read(list, at);
        if (calls.error != null) return calls.error;
        t.toolCalls = calls.json;
      }
    } else if (role == "tool") {
      const id = getString(m, "tool_call_id");
      const call = id != null ? this.calls.find(id) : null;
      if (call == null) return at + ".tool_call_id '" + (id != null ? id! : "") + "' does not match a tool call of an earlier assistant message";
      const n = this.turns.length;
      const t = n > 0 && unchecked(this.turns[n - 1]).role == "TOOL" ? unchecked(this.turns[n - 1]) : this.push("TOOL", "");
      t.results.push('{"call":' + call! + ',"outputs":' + outputsJson(content) + "}");
    } else {
      return at + ": role '" + (role != null ? role! : "") + "' is not supported by provider cohere";
    }
    return null;
  }

  private push(role: string, message: string): Turn {
    const t = new Turn(role);
    t.message = message;
    this.turns.push(t);
    return t;
  }
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
    const c = new Conversation();
    for (let i = 0; i < msgs.length; i++) {
      const m = valueObj(arrAt(msgs, i));
      if (m == null) continue;
      const err = c.add(m, i);
      if (err != null) return TranslatedRequest.fail(err);
    }
    const turns = c.turns;
    const n = turns.length;
    const last: Turn | null = n > 0 ? unchecked(turns[n - 1]) : null;
    if (last == null || (last.role != "USER" && last.role != "TOOL")) return TranslatedRequest.fail("the last message must have role user or tool for provider cohere");
    // Tool results answer the calls of the turn before; Cohere wants them with an empty message (multi-step mode).
    const results = last.role == "TOOL" ? last.results : null;

    let toolsJson: string | null = null;
    const tools = getArr(body, "tools");
    if (tools != null && tools.length > 0) {
      const policy = toolPolicy(body, results != null);
      if (policy.error != null) return TranslatedRequest.fail(policy.error!);
      if (policy.send) {
        const t = cohereTools(tools);
        if (t.error != null) return TranslatedRequest.fail(t.error!);
        toolsJson = t.json;
      }
    } else if (results != null) {
      return TranslatedRequest.fail("tool results need the 'tools' they answer for provider cohere (Cohere requires tools with tool_results)");
    }

    const w = new JsonWriter();
    w.beginObject().fieldString("model", req.model).fieldString("message", results != null ? "" : last.message);
    if (n > 1) {
      w.key("chat_history").beginArray();
      for (let i = 0; i < n - 1; i++) unchecked(turns[i]).write(w);
      w.endArray();
    }
    if (c.preamble.length > 0) w.fieldString("preamble", c.preamble);
    this.tuning(w, req);
    if (toolsJson != null) w.key("tools").rawString(toolsJson!);
    if (results != null) writeResults(w, results);
    w.fieldBool("stream", req.stream);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  /**
   * max_tokens, temperature, p, k, stop_sequences, seed and the penalties (same names in v1
   * chat and generate). Cohere takes `p` in [0.01, 0.99] and `k` in [0, 500] and answers 400
   * outside them, so top_p and top_k are clamped into those ranges (top_p 1 → 0.99 and 0 →
   * 0.01 mean the same sampling, all but exactly).
   */
  private tuning(w: JsonWriter, req: LlmRequest): void {
    if (req.maxTokens != UNSET) w.fieldInt("max_tokens", req.maxTokens);
    if (!isNaN(req.temperature)) w.fieldNumber("temperature", req.temperature);
    if (!isNaN(req.topP)) w.fieldNumber("p", min<f64>(max<f64>(req.topP, 0.01), 0.99));
    if (req.topK != UNSET) w.fieldInt("k", min<i64>(max<i64>(req.topK, 0), 500));
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
    const outId = id != null ? id! : req.requestId;
    const calls = getArr(o, "tool_calls");
    if (calls != null && calls.length > 0) {
      const tc = openAiToolCalls(calls, outId, -1);
      if (tc.error != null) return TranslatedResponse.fail("transformation failed from type " + what + ": " + tc.error!);
      c.toolCallsJson = tc.json;
      c.content = text!.length > 0 ? text : null;
      if (c.finishReason == "stop") c.finishReason = "tool_calls";
    }
    r.body = writeChatCompletion(outId, req.model, req.created, [c], r.usage);
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

/** Tool calls one stream may index; a larger Cohere index is hostile and ignored (it would size an array). */
const MAX_STREAM_CALLS: i64 = 128;

/**
 * Cohere v1 NDJSON → OpenAI chunks. Chat: stream-start (id, role chunk), text-generation
 * (content), tool-calls-chunk (plan text → content; {index, name} starts a tool call,
 * {index, parameters} adds argument text), tool-calls-generation (the whole calls: sent only
 * when no chunk streamed them), stream-end (finish_reason, "tool_calls" after calls; usage
 * from response.meta). Generate: `{text, is_finished:false}` lines, then `{is_finished:true,
 * finish_reason, response}`. Other chat events (citations, search results) have no OpenAI
 * equivalent and are skipped.
 */
export class CohereStreamTranslator extends NdjsonStreamTranslator {
  private started: bool = false;
  private textSent: bool = false;
  /** OpenAI tool_calls index for each Cohere tool_call_delta.index (-1: not started). */
  private callIndex: i32[] = [];
  private calls: i32 = 0;

  onLine(line: Uint8Array): string | null {
    const p = parseObject(line);
    if (p.value == null) return "upstream sent an invalid stream line: " + p.error!;
    const o = p.value!;
    const type = getString(o, "event_type");
    if (type == null) {
      // A mid-stream error: `{"error": "…"}`, `{"error": {"message": "…"}}` or `{"message": "…"}`.
      const eo = getObj(o, "error");
      const es = eo != null ? getString(eo, "message") : getString(o, "error");
      if (es != null) return es.length > 0 ? es : "upstream stream error";
      if (eo != null) return "upstream stream error";
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
    } else if (type == "tool-calls-chunk") {
      const d = getObj(o, "tool_call_delta");
      if (d != null) return this.onToolChunk(d);
    } else if (type == "tool-calls-generation") {
      if (!this.textSent) {
        const t = getString(o, "text");
        if (t != null && t.length > 0) this.emit(t);
      }
      const list = getArr(o, "tool_calls");
      if (list != null && this.calls == 0) return this.sendCalls(list);
    } else if (type == "stream-end") {
      const resp = getObj(o, "response");
      if (resp != null) readUsage(resp, this.usage);
      let fr = getString(o, "finish_reason");
      if (fr == null && resp != null) fr = getString(resp!, "finish_reason");
      if (fr == "ERROR") {
        const e = getString(o, "error");
        return e != null ? e : "upstream stream ended with an error";
      }
      // A stream that only reports its calls at the end still gets them.
      const list = resp != null ? getArr(resp!, "tool_calls") : null;
      if (list != null && this.calls == 0) {
        const err = this.sendCalls(list);
        if (err != null) return err;
      }
      let mapped = cohereFinishReason(fr);
      if (this.calls > 0 && (mapped == null || mapped == "stop")) mapped = "tool_calls";
      this.end(mapped);
    }
    return null;
  }

  private role(): string | null {
    if (this.started) return null;
    this.started = true;
    return "assistant";
  }

  private emit(t: string): void {
    const role = this.role();
    if (t.length == 0 && role == null) return;
    if (t.length > 0) this.textSent = true;
    writeChatChunk(this.out, this.header, role, t, null);
    this.collect(t);
  }

  /** One tool_call_delta: plan text (no index), a call's name (starts it) or a piece of its parameters. */
  private onToolChunk(d: JSON.Obj): string | null {
    const n = countAt(d, "index");
    const text = getString(d, "text");
    if (text != null && text.length > 0) this.emit(text);
    if (n < 0 || n >= MAX_STREAM_CALLS) return null;
    const index = <i32>n;
    const name = getString(d, "name");
    const args = getString(d, "parameters");
    while (this.callIndex.length <= index) this.callIndex.push(-1);
    let ti = unchecked(this.callIndex[index]);
    if (ti < 0) {
      ti = this.calls++;
      unchecked((this.callIndex[index] = ti));
      const delta = toolCallDelta(ti, toolCallId(this.header.id, ti), name != null ? name : "", args != null ? args : "");
      writeChatChunk(this.out, this.header, this.role(), null, null, delta);
      return null;
    }
    if ((name == null || name.length == 0) && (args == null || args.length == 0)) return null;
    writeChatChunk(this.out, this.header, this.role(), null, null, toolCallDelta(ti, null, name, args));
    return null;
  }

  /** Whole Cohere calls (tool-calls-generation, or the stream-end response) as one delta. */
  private sendCalls(list: JSON.Arr): string | null {
    if (list.length == 0) return null;
    const tc = openAiToolCalls(list, this.header.id, this.calls);
    if (tc.error != null) return "upstream sent a bad tool call: " + tc.error!;
    this.calls += list.length;
    writeChatChunk(this.out, this.header, this.role(), null, null, tc.json);
    return null;
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
