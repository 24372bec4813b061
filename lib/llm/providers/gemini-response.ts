// Gemini answers → OpenAI shapes: GenerateContentResponse chunks (one JSON object, a JSON
// array of them, or the SSE stream of ?alt=sse) aggregated into one chat.completion or
// translated chunk by chunk, batchEmbedContents into an embeddings list, and Google's error
// body `{"error":{"code","message","status"}}` into the OpenAI error shape.
// https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse
//
// Decisions:
// - Text is every non-thought text part of candidates[0], joined (Kong reads parts[0]);
//   thought summaries (`thought: true`) have no OpenAI field and are dropped.
// - finishReason: STOP → stop (tool_calls when the answer calls functions), MAX_TOKENS →
//   length, the safety family → content_filter, others lower-cased (as Kong does them all).
// - usage: prompt = promptTokenCount + toolUsePromptTokenCount, completion =
//   candidatesTokenCount + thoughtsTokenCount (thinking is billed as output, as OpenAI's
//   reasoning tokens are), total = totalTokenCount. Stream chunks carry running counts: the
//   last one wins.
// - No candidate at all (a blocked prompt) → Kong's "no generation candidates" failure,
//   with promptFeedback.blockReason when given.
// - Gemini's functionCall.id is used when present, else a fresh "call_" id. A part's
//   thoughtSignature (Gemini 3 refuses a function-call history without it) travels as the
//   tool call's `extra_content.google.thought_signature`, as Google's own OpenAI-compatible
//   endpoint sends it; gemini.ts sends it back.

import { JSON } from "json-as";
import { arrAt, getArr, getBool, getObj, getString, parseArray, parseObject, validateJson, valueObj } from "../../json";
import { DEFAULT_MAX_DEPTH } from "../../json/read";
import { rawStart } from "../../json/raw";
import { JsonWriter } from "../json-writer";
import { errorBody, errorTypeForStatus, genericError } from "../errors";
import { ChatChoice, EmbeddingItem, makeId, writeChatChunk, writeChatCompletion, writeEmbeddings } from "../format";
import { LlmRequest, TranslatedResponse, Usage } from "../provider";
import { SseEvent, SseParser } from "../sse";
import { SseStreamTranslator } from "../stream";
import { countAt, elementSpans, embeddingJson, memberSpan, pathSpan, Span, wantsBase64, writeStreamEnd, writeValue } from "./native-shared";

const CHAT = "gemini://llm/v1/chat";
const EMBEDDINGS = "gemini://llm/v1/embeddings";
const NO_CANDIDATES = "no generation candidates received from Gemini, or max_tokens too short";

/** Gemini finishReason → OpenAI finish_reason. */
export function geminiFinishReason(r: string | null, calledTools: bool): string | null {
  if (r == null) return null;
  if (r == "STOP") return calledTools ? "tool_calls" : "stop";
  if (r == "MAX_TOKENS") return "length";
  if (r == "SAFETY" || r == "RECITATION" || r == "BLOCKLIST" || r == "PROHIBITED_CONTENT" || r == "SPII" || r == "IMAGE_SAFETY") return "content_filter";
  return r.toLowerCase();
}

/** One function call of a candidate: name, arguments as JSON text, Gemini's id and thought signature (or null). */
class Call {
  constructor(
    public name: string,
    public args: string,
    public id: string | null,
    public signature: string | null,
  ) {}
}

/** An OpenAI tool call (with the stream `index` when >= 0), carrying the thought signature in `extra_content`. */
function writeCall(w: JsonWriter, index: i32, call: Call): void {
  w.beginObject();
  if (index >= 0) w.fieldInt("index", index);
  w.fieldString("id", call.id != null ? call.id! : makeId("call_")).fieldString("type", "function");
  w.key("function").beginObject().fieldString("name", call.name).fieldString("arguments", call.args).endObject();
  const sig = call.signature;
  if (sig != null) w.key("extra_content").beginObject().key("google").beginObject().fieldString("thought_signature", sig).endObject().endObject();
  w.endObject();
}

/** What one GenerateContentResponse says, for candidate 0. */
class Chunk {
  error: string | null = null;
  model: string | null = null;
  id: string | null = null;
  hasCandidate: bool = false;
  text: string = "";
  calls: Call[] = [];
  finishReason: string | null = null;
  blockReason: string | null = null;
  prompt: i64 = -1;
  completion: i64 = -1;
  total: i64 = -1;
}

function nonNeg(n: i64): i64 {
  return n > 0 ? n : 0;
}

/** Reads one GenerateContentResponse (or an `{"error":…}` object); never traps on odd types. */
function readChunk(o: JSON.Obj): Chunk {
  const c = new Chunk();
  const err = getObj(o, "error");
  if (err != null) {
    const m = getString(err, "message");
    c.error = m != null ? m : "upstream stream error";
    return c;
  }
  c.model = getString(o, "modelVersion");
  c.id = getString(o, "responseId");
  const fb = getObj(o, "promptFeedback");
  if (fb != null) c.blockReason = getString(fb, "blockReason");
  const u = getObj(o, "usageMetadata");
  if (u != null) {
    const p = countAt(u, "promptTokenCount");
    if (p >= 0) c.prompt = p + nonNeg(countAt(u, "toolUsePromptTokenCount"));
    const cand = countAt(u, "candidatesTokenCount");
    const th = countAt(u, "thoughtsTokenCount");
    if (cand >= 0 || th >= 0) c.completion = nonNeg(cand) + nonNeg(th);
    c.total = countAt(u, "totalTokenCount");
  }
  const cands = getArr(o, "candidates");
  const cand = cands != null ? valueObj(arrAt(cands!, 0)) : null;
  if (cand == null) return c;
  c.hasCandidate = true;
  c.finishReason = getString(cand, "finishReason");
  const content = getObj(cand, "content");
  const parts = content != null ? getArr(content, "parts") : null;
  if (parts == null) return c;
  for (let i = 0; i < parts.length; i++) {
    const p = valueObj(arrAt(parts, i));
    if (p == null) continue;
    const fc = getObj(p, "functionCall");
    if (fc != null) {
      const name = getString(fc, "name");
      const args = fc.get("args");
      let json = "{}";
      if (args != null && valueObj(args) != null) {
        const w = new JsonWriter();
        writeValue(w, args);
        json = w.out.toString();
      }
      c.calls.push(new Call(name != null ? name : "", json, getString(fc, "id"), getString(p, "thoughtSignature")));
      continue;
    }
    const t = getString(p, "text");
    if (t != null && !getBool(p, "thought", false)) c.text += t;
  }
  return c;
}

/** Keeps the counts a chunk reports (running totals: later chunks replace earlier ones). */
function mergeUsage(u: Usage, c: Chunk): void {
  if (c.prompt >= 0) u.promptTokens = c.prompt;
  if (c.completion >= 0) u.completionTokens = c.completion;
  if (c.total >= 0) u.totalTokens = c.total;
}

function noCandidates(blockReason: string | null): string {
  return blockReason != null ? NO_CANDIDATES + " (prompt blocked: " + blockReason! + ")" : NO_CANDIDATES;
}

/** The response objects of a buffered body: one object, a JSON array of them, or an SSE stream. */
class Bodies {
  list: JSON.Obj[] = [];
  error: string | null = null;
}

function responseObjects(body: Uint8Array): Bodies {
  const r = new Bodies();
  const i = rawStart(body);
  const first = i < body.length ? unchecked(body[i]) : 0;
  if (first == 0x7b) {
    const p = parseObject(body);
    if (p.value == null) r.error = "response is not valid JSON: " + p.error!;
    else r.list.push(p.value!);
    return r;
  }
  if (first == 0x5b) {
    const a = parseArray(body);
    if (a.value == null) {
      r.error = "response is not valid JSON: " + a.error!;
      return r;
    }
    for (let k = 0; k < a.value!.length; k++) {
      const o = valueObj(arrAt(a.value!, k));
      if (o != null) r.list.push(o);
    }
    return r;
  }
  const parser = new SseParser();
  const events = parser.push(body);
  const rest = parser.finish();
  for (let k = 0; k < rest.length; k++) events.push(unchecked(rest[k]));
  if (parser.overflow) {
    r.error = "a stream event is too large";
    return r;
  }
  for (let k = 0; k < events.length; k++) {
    const ev = unchecked(events[k]);
    if (ev.data.length == 0) continue;
    const p = parseObject(ev.data);
    if (p.value == null) {
      r.error = "invalid stream event: " + p.error!;
      return r;
    }
    r.list.push(p.value!);
  }
  if (r.list.length == 0) r.error = "response is empty or neither JSON nor an event stream";
  return r;
}

/** A 200 chat body (SSE, JSON object or array) → one chat.completion. */
export function translateGeminiChat(req: LlmRequest, body: Uint8Array): TranslatedResponse {
  const b = responseObjects(body);
  if (b.error != null) return TranslatedResponse.fail("transformation failed from type " + CHAT + ": " + b.error!);
  const r = new TranslatedResponse();
  let text = "";
  let id: string | null = null;
  let finish: string | null = null;
  let block: string | null = null;
  let sawCandidate = false;
  let calls: JsonWriter | null = null;
  for (let k = 0; k < b.list.length; k++) {
    const c = readChunk(unchecked(b.list[k]));
    if (c.error != null) return TranslatedResponse.fail("transformation failed from type " + CHAT + ": " + c.error!);
    if (c.model != null && c.model!.length > 0) r.model = c.model!;
    if (id == null && c.id != null && c.id!.length > 0) id = c.id;
    if (c.blockReason != null) block = c.blockReason;
    if (c.hasCandidate) sawCandidate = true;
    if (c.finishReason != null) finish = c.finishReason;
    mergeUsage(r.usage, c);
    text += c.text;
    for (let j = 0; j < c.calls.length; j++) {
      if (calls == null) {
        calls = new JsonWriter();
        calls.beginArray();
      }
      writeCall(calls!, -1, unchecked(c.calls[j]));
    }
  }
  if (!sawCandidate) return TranslatedResponse.fail("transformation failed from type " + CHAT + ": " + noCandidates(block));
  r.usage.complete();
  const choice = new ChatChoice();
  if (calls != null) {
    calls.endArray();
    choice.toolCallsJson = calls.out.toString();
    choice.content = text.length > 0 ? text : null;
  } else {
    choice.content = text;
  }
  choice.finishReason = geminiFinishReason(finish, calls != null);
  const model = r.model.length > 0 ? r.model : req.model;
  r.body = writeChatCompletion(id != null ? id! : req.requestId, model, req.created, [choice], r.usage);
  return r;
}

/** batchEmbedContents `{"embeddings":[{"values":[…]}]}` (or embedContent's single `embedding`) → an embeddings list, vectors copied byte for byte. */
export function translateGeminiEmbeddings(req: LlmRequest, body: Uint8Array): TranslatedResponse {
  // Validated, not parsed: the vectors are copied from their byte spans.
  const start = rawStart(body);
  if (validateJson(body, DEFAULT_MAX_DEPTH) != null || start >= body.length || unchecked(body[start]) != 0x7b) {
    return TranslatedResponse.fail("transformation failed from type " + EMBEDDINGS + ": response is not a JSON object");
  }
  const vectors = new Array<Span>();
  const list = pathSpan(body, ["embeddings"]);
  const els = list != null ? elementSpans(body, list!) : null;
  if (els != null) {
    for (let i = 0; i < els.length; i++) {
      const v = memberSpan(body, unchecked(els[i]), "values");
      if (v == null) return TranslatedResponse.fail("transformation failed from type " + EMBEDDINGS + ": an embedding has no 'values'");
      vectors.push(v);
    }
  } else {
    const single = pathSpan(body, ["embedding", "values"]);
    if (single == null) return TranslatedResponse.fail("transformation failed from type " + EMBEDDINGS + ": 'embeddings' not in " + EMBEDDINGS + " response");
    vectors.push(single);
  }
  const base64 = wantsBase64(req.body);
  const items = new Array<EmbeddingItem>();
  for (let i = 0; i < vectors.length; i++) {
    const v = embeddingJson(body, unchecked(vectors[i]), base64);
    if (v == null) return TranslatedResponse.fail("transformation failed from type " + EMBEDDINGS + ": an embedding is not an array of numbers");
    items.push(new EmbeddingItem(i, v));
  }
  // Gemini's embedding responses carry no token counts: the filter estimates them.
  const r = new TranslatedResponse();
  r.body = writeEmbeddings(req.model, items, r.usage);
  return r;
}

/** Google's `{"error":{"code","message","status"}}` (also wrapped in an array, as streamGenerateContent without alt=sse sends it) → the OpenAI shape; `code` is Google's status name. */
export function geminiError(status: u32, body: Uint8Array): Uint8Array {
  let o: JSON.Obj | null = null;
  const i = rawStart(body);
  if (i < body.length && unchecked(body[i]) == 0x5b) {
    const a = parseArray(body);
    if (a.value != null) o = valueObj(arrAt(a.value!, 0));
  } else {
    o = parseObject(body).value;
  }
  const e = o != null ? getObj(o!, "error") : null;
  const message = e != null ? getString(e, "message") : null;
  if (e == null || message == null) return genericError(status, body);
  return errorBody(message, errorTypeForStatus(status), getString(e, "status"));
}

/**
 * Gemini SSE (`data: {GenerateContentResponse}`, CRLF or LF framed) → OpenAI chunks: text
 * and function calls as they come; at the end of the stream the finish chunk (Gemini's
 * usage arrives with its last chunk), the usage chunk if asked, then [DONE].
 */
export class GeminiStreamTranslator extends SseStreamTranslator {
  private started: bool = false;
  private sawCandidate: bool = false;
  private calls: i32 = 0;
  private finish: string | null = null;
  private blockReason: string | null = null;

  private role(): string | null {
    if (this.started) return null;
    this.started = true;
    return "assistant";
  }

  onEvent(ev: SseEvent): string | null {
    if (ev.data.length == 0) return null;
    const p = parseObject(ev.data);
    if (p.value == null) return "upstream sent an invalid stream event: " + p.error!;
    const c = readChunk(p.value!);
    if (c.error != null) return c.error;
    if (c.model != null && c.model!.length > 0) {
      this.model = c.model!;
      this.header.model = c.model!;
    }
    // One id for the whole stream: Gemini's, when it comes before anything is written.
    if (!this.started && c.id != null && c.id!.length > 0) this.header.id = c.id!;
    mergeUsage(this.usage, c);
    if (c.blockReason != null) this.blockReason = c.blockReason;
    if (c.hasCandidate) this.sawCandidate = true;
    if (c.finishReason != null) this.finish = c.finishReason;
    if (c.text.length > 0) {
      writeChatChunk(this.out, this.header, this.role(), c.text, null);
      this.collect(c.text);
    }
    for (let i = 0; i < c.calls.length; i++) {
      const delta = new JsonWriter();
      delta.beginArray();
      writeCall(delta, this.calls++, unchecked(c.calls[i]));
      delta.endArray();
      writeChatChunk(this.out, this.header, this.role(), null, null, delta.out.toString());
    }
    return null;
  }

  /** The upstream stream ended: the finish chunk and usage, or the no-candidates failure. */
  onEnd(): void {
    if (!this.sawCandidate) {
      this.fail(noCandidates(this.blockReason));
      return;
    }
    // Gemini's last chunk carries finishReason: without it the stream was cut short (the base class fails it).
    if (this.finish == null) return;
    const role = this.role();
    if (role != null) writeChatChunk(this.out, this.header, role, "", null);
    this.usage.complete();
    writeStreamEnd(this.out, this.header, this.req, geminiFinishReason(this.finish, this.calls > 0), this.usage);
    this.done();
  }
}
