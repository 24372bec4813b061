// Llama 2 behind a self-hosted endpoint (model.options.upstream_url is required, its path
// used as is). llama2_format=raw: Hugging Face text-generation (TGI / Inference API)
// `{inputs, parameters}` with the chat flattened into Llama 2's prompt format;
// llama2_format=openai: an OpenAI-compatible server; llama2_format=ollama: ollama.ts.
// https://huggingface.co/blog/llama2#how-to-prompt-llama-2 ,
// https://huggingface.co/docs/text-generation-inference (POST /generate, /generate_stream)
//
// Decisions (raw):
// - Prompt: `<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST] {assistant} </s><s>[INST] {user} [/INST]`;
//   several system messages are joined with "\n"; consecutive user messages share one [INST].
//   A trailing assistant message is left open (a prefill the model continues).
// - `parameters`: max_new_tokens, temperature, top_p, top_k, stop, and details=true so TGI
//   reports finish_reason and generated_tokens; `stream` at the top level (HF's convention).
// - The answer is `generated_text` in any shape Kong's driver reads: an object, the first
//   of a top-level array (TGI, the HF Inference API), or the first of a `data` array
//   (`{"data":[{"generated_text":…}]}`, which Kong reads as data[1]); for chat it is cut
//   after the last `[/INST]` when the server echoes the prompt (Kong does the same).
// - Tools, tool messages and images have no place in the raw prompt: refused with a 400.

import { JSON } from "json-as";
import { arrAt, getArr, getObj, getString, parseArray, parseObject, valueObj } from "../../json";
import { JsonWriter } from "../json-writer";
import { errorBody, errorTypeForStatus, genericError } from "../errors";
import { ChatChoice, TextChoice, writeChatChunk, writeChatCompletion, writeTextCompletion } from "../format";
import { LlmRequest, Provider, RouteType, routeTypeName, StreamTranslator, TranslatedRequest, TranslatedResponse, UNSET } from "../provider";
import { SseEvent } from "../sse";
import { SseStreamTranslator } from "../stream";
import { OpenAiFormatProvider } from "./openai-format";
import { contentText, countAt, firstNonTextPart, setUsage, singlePrompt, stopList, writeStreamEnd, writeStringList } from "./native-shared";

const INST_END = "[/INST]";

function upstreamUrlRequired(config: string): string {
  return "model.options.upstream_url is required for provider llama2 with llama2_format=" + config;
}

/** TGI's details.finish_reason → OpenAI's. */
function tgiFinishReason(r: string | null): string {
  if (r != null && r == "length") return "length";
  return "stop"; // eos_token, stop_sequence, or not reported
}

/** The result of flattening a chat into Llama 2's prompt format. */
class PromptResult {
  prompt: string = "";
  error: string | null = null;
}

/** OpenAI messages → `<s>[INST] <<SYS>> ... <</SYS>> ... [/INST] ... </s>` text. */
export function llama2Prompt(msgs: JSON.Arr): PromptResult {
  const r = new PromptResult();
  let system = "";
  for (let i = 0; i < msgs.length; i++) {
    const m = valueObj(arrAt(msgs, i));
    if (m == null) continue;
    const role = getString(m, "role");
    if (role == "system" || role == "developer") {
      const t = contentText(m.get("content"), "\n");
      system = system.length > 0 ? system + "\n" + t : t;
    }
  }
  let out = "";
  let user: string | null = null; // the open [INST] turn's text
  let turns = 0;
  let lastAssistant = false;
  for (let i = 0; i < msgs.length; i++) {
    const m = valueObj(arrAt(msgs, i));
    if (m == null) continue;
    const at = "messages[" + i.toString() + "]";
    const role = getString(m, "role");
    if (role == null || role == "system" || role == "developer") continue;
    const content = m.get("content");
    const bad = firstNonTextPart(content);
    if (bad != null) {
      r.error = at + ": content part type '" + bad + "' is not supported by provider llama2 (raw format)";
      return r;
    }
    const calls = getArr(m, "tool_calls");
    if (role != "user" && role != "assistant") {
      r.error = at + ": role '" + role + "' is not supported by provider llama2 (raw format)";
      return r;
    }
    if (calls != null && calls.length > 0) {
      r.error = at + ": tool calls are not supported by provider llama2 (raw format)";
      return r;
    }
    const text = contentText(content, "\n");
    if (role == "user") {
      user = user != null ? user! + "\n" + text : text;
      lastAssistant = false;
      continue;
    }
    out += openTurn(user != null ? user! : "", turns == 0 ? system : "");
    turns++;
    user = null;
    out += " " + text + " </s>";
    lastAssistant = true;
  }
  if (user != null || turns == 0) {
    out += openTurn(user != null ? user! : "", turns == 0 ? system : "");
  } else if (lastAssistant && out.endsWith(" </s>")) {
    out = out.substring(0, out.length - 5); // leave the prefill open
  }
  r.prompt = out;
  return r;
}

function openTurn(user: string, system: string): string {
  let s = "<s>[INST] ";
  if (system.length > 0) s += "<<SYS>>\n" + system + "\n<</SYS>>\n\n";
  return s + user + " " + INST_END;
}

/** llama2_format=raw. */
export class Llama2Provider extends Provider {
  validate(route: RouteType): string | null {
    if (route == RouteType.Embeddings) return "route_type llm/v1/embeddings is not supported by provider llama2 with llama2_format=raw";
    if (this.config.options.upstreamUrl.length == 0) return upstreamUrlRequired("raw");
    return super.validate(route);
  }

  defaultBaseUrl(): string {
    return "http://localhost";
  }

  defaultPath(route: RouteType): string | null {
    return route == RouteType.Preserve ? "" : null;
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
    let inputs: string;
    if (req.route == RouteType.Chat) {
      const msgs = getArr(req.body, "messages");
      if (msgs == null) return TranslatedRequest.fail("'messages' must be an array");
      const p = llama2Prompt(msgs);
      if (p.error != null) return TranslatedRequest.fail(p.error!);
      inputs = p.prompt;
    } else if (req.route == RouteType.Completions) {
      const prompt = singlePrompt(req.body);
      if (prompt == null) return TranslatedRequest.fail("provider llama2 (raw format) takes one 'prompt' string");
      inputs = prompt;
    } else {
      return TranslatedRequest.fail("route_type " + routeTypeName(req.route) + " is not supported by provider llama2 (raw format)");
    }
    const w = new JsonWriter();
    w.beginObject().fieldString("inputs", inputs).key("parameters").beginObject();
    if (req.maxTokens != UNSET) w.fieldInt("max_new_tokens", req.maxTokens);
    if (!isNaN(req.temperature)) w.fieldNumber("temperature", req.temperature);
    if (!isNaN(req.topP)) w.fieldNumber("top_p", req.topP);
    if (req.topK != UNSET) w.fieldInt("top_k", req.topK);
    const stop = stopList(req.body);
    if (stop != null && stop.length > 0) writeStringList(w, "stop", stop);
    w.fieldBool("details", true);
    w.endObject();
    w.fieldBool("stream", req.stream);
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    const what = "llama2://" + routeTypeName(req.route);
    let o: JSON.Obj | null = null;
    let i = 0;
    while (i < body.length && (unchecked(body[i]) == 0x20 || unchecked(body[i]) == 0x0a || unchecked(body[i]) == 0x0d || unchecked(body[i]) == 0x09)) i++;
    if (i < body.length && unchecked(body[i]) == 0x5b) {
      const a = parseArray(body);
      if (a.value != null) o = valueObj(arrAt(a.value!, 0));
    } else {
      o = parseObject(body).value;
      // `{"data":[{"generated_text":…}]}`: the answer is the first item.
      if (o != null && !o!.has("generated_text")) {
        const data = getArr(o!, "data");
        if (data != null) o = valueObj(arrAt(data, 0));
      }
    }
    if (o == null) return TranslatedResponse.fail("transformation failed from type " + what + ": response is not a JSON object or array of objects");
    let text = getString(o!, "generated_text");
    if (text == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'generated_text' not in " + what + " response");
    const r = new TranslatedResponse();
    const details = getObj(o!, "details");
    if (details != null) setUsage(r.usage, -1, countAt(details, "generated_tokens"));
    const finish = tgiFinishReason(details != null ? getString(details, "finish_reason") : null);
    if (req.route == RouteType.Completions) {
      const prompt = singlePrompt(req.body);
      if (prompt != null && prompt.length > 0 && text.startsWith(prompt)) text = text.substring(prompt.length);
      const c = new TextChoice();
      c.text = text;
      c.finishReason = finish;
      r.body = writeTextCompletion(req.requestId, req.model, req.created, [c], r.usage);
      return r;
    }
    const cut = text.lastIndexOf(INST_END);
    if (cut >= 0) text = text.substring(cut + INST_END.length).trimStart();
    const c = new ChatChoice();
    c.content = text;
    c.finishReason = finish;
    r.body = writeChatCompletion(req.requestId, req.model, req.created, [c], r.usage);
    return r;
  }

  /** TGI's `{"error": "...", "error_type"}`, else the generic reader. */
  translateError(status: u32, body: Uint8Array): Uint8Array {
    const p = parseObject(body);
    if (p.value != null) {
      const m = getString(p.value!, "error");
      if (m != null && m.length > 0) return errorBody(m, errorTypeForStatus(status), null);
    }
    return genericError(status, body);
  }

  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new Llama2StreamTranslator(req);
  }

  /** TGI streams the generated token count but never the prompt's: the filter estimates. */
  streamReportsUsage(): bool {
    return false;
  }
}

/**
 * TGI's SSE (`data: {"token":{"text","special"},"generated_text":null,"details":null}`, the
 * last event with generated_text and details) → OpenAI chunks. Special tokens (`</s>`) are
 * dropped. An `{"error"}` event ends the stream with an error frame.
 */
export class Llama2StreamTranslator extends SseStreamTranslator {
  private started: bool = false;

  onEvent(ev: SseEvent): string | null {
    if (ev.data.length == 0 || ev.isDone()) return null;
    const p = parseObject(ev.data);
    if (p.value == null) return "upstream sent an invalid stream event: " + p.error!;
    const o = p.value!;
    const err = getString(o, "error");
    if (err != null) return err;
    const token = getObj(o, "token");
    if (token != null) {
      const t = getString(token, "text");
      const special = token.get("special");
      const isSpecial = special != null && special.type == JSON.Types.Bool && special.get<bool>();
      if (t != null && !isSpecial && (t.length > 0 || !this.started)) {
        const role: string | null = this.started ? null : "assistant";
        this.started = true;
        writeChatChunk(this.out, this.header, role, t, null);
        this.collect(t);
      }
    }
    const details = getObj(o, "details");
    if (details != null || getString(o, "generated_text") != null) {
      if (details != null) setUsage(this.usage, -1, countAt(details, "generated_tokens"));
      writeStreamEnd(this.out, this.header, this.req, tgiFinishReason(details != null ? getString(details!, "finish_reason") : null), this.usage);
      this.done();
    }
    return null;
  }
}

/** llama2_format=openai: an OpenAI-compatible server at upstream_url. */
export class Llama2OpenAiProvider extends OpenAiFormatProvider {
  validate(route: RouteType): string | null {
    if (this.config.options.upstreamUrl.length == 0) return upstreamUrlRequired("openai");
    return super.validate(route);
  }

  defaultBaseUrl(): string {
    return "http://localhost";
  }

  defaultPath(route: RouteType): string | null {
    return route == RouteType.Preserve ? "" : null;
  }
}
