// Shared base of the providers that speak the OpenAI format (openai, azure, mistral with
// mistral_format=openai; llama2.ts may reuse it for llama2_format=openai). The request goes
// up nearly as sent: the untouched members are copied byte for byte, `model` and `stream`
// are set, options fill absent tuning fields, `top_k` is removed, and streams ask for
// usage (`stream_options.include_usage`) where the upstream supports it.

import { JSON } from "json-as";
import { arrAt, getArr, getObj, getString, parseObject, valueObj } from "../../json";
import { JsonWriter } from "../json-writer";
import { findMember, Member, scanObject } from "../json-scan";
import {
  LlmRequest,
  Provider,
  RouteType,
  routeTypeName,
  StreamTranslator,
  TranslatedRequest,
  TranslatedResponse,
  UNSET,
} from "../provider";
import { SseEvent } from "../sse";
import { SseStreamTranslator } from "../stream";
import { readOpenAiUsage } from "../usage";

export abstract class OpenAiFormatProvider extends Provider {
  /** Whether the upstream accepts `stream_options.include_usage` for this request. */
  acceptsStreamOptions(req: LlmRequest): bool {
    return true;
  }

  /** Request members the upstream refuses and the gateway drops (always includes top_k). */
  isDropped(key: string): bool {
    return key == "top_k";
  }

  /** A member name to send under another name (Mistral: max_completion_tokens → max_tokens); "" keeps it. */
  renamed(key: string): string {
    return "";
  }

  translateRequest(req: LlmRequest): TranslatedRequest {
    const src = req.raw;
    const members = scanObject(src);
    if (members == null) return TranslatedRequest.fail("request body is not a JSON object");
    const embeddings = req.route == RouteType.Embeddings;
    const w = new JsonWriter();
    w.beginObject();
    for (let i = 0; i < members.length; i++) {
      const m = unchecked(members[i]);
      const k = m.key;
      if (k == "model" || this.isDropped(k)) continue;
      if (!embeddings && (k == "stream" || k == "stream_options")) continue;
      const to = this.renamed(k);
      if (to.length > 0) {
        if (findMember(members, to) != null) continue; // the real name wins
        w.key(to).rawRange(src, m.valueStart, m.valueEnd);
        continue;
      }
      w.rawMember(src, m.keyStart, m.keyEnd, m.valueStart, m.valueEnd);
    }
    w.fieldString("model", req.model);
    if (!embeddings) {
      w.fieldBool("stream", req.stream);
      const so = findMember(members, "stream_options");
      const soObj = so != null ? getObj(req.body, "stream_options") : null;
      if (req.stream && this.acceptsStreamOptions(req)) {
        w.key("stream_options").beginObject();
        if (so != null && soObj != null) copyMembersExcept(w, src, so, "include_usage");
        w.fieldBool("include_usage", true);
        w.endObject();
      } else if (req.stream && so != null && soObj != null && !this.isDropped("stream_options")) {
        // The gateway does not add what this upstream may refuse, but the client's own ask goes up.
        w.rawMember(src, so.keyStart, so.keyEnd, so.valueStart, so.valueEnd);
      }
      const hasMaxTokens = findMember(members, "max_tokens") != null || findMember(members, "max_completion_tokens") != null;
      if (!hasMaxTokens && req.maxTokens != UNSET) w.fieldInt(this.maxTokensField(), req.maxTokens);
      if (findMember(members, "temperature") == null && !isNaN(req.temperature)) w.fieldNumber("temperature", req.temperature);
      if (findMember(members, "top_p") == null && !isNaN(req.topP)) w.fieldNumber("top_p", req.topP);
    }
    w.endObject();
    return TranslatedRequest.ok(w.toBytes());
  }

  /** The field that carries configured max_tokens. */
  maxTokensField(): string {
    return "max_tokens";
  }

  translateResponse(req: LlmRequest, body: Uint8Array): TranslatedResponse {
    const what = this.name + "://" + routeTypeName(req.route);
    const p = parseObject(body);
    if (p.value == null) return TranslatedResponse.fail("transformation failed from type " + what + ": response is not a JSON object");
    const o = p.value!;
    const r = new TranslatedResponse();
    if (req.route == RouteType.Embeddings) {
      if (getArr(o, "data") == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'data' not in " + routeTypeName(req.route) + " response");
    } else if (req.route != RouteType.Preserve) {
      if (getArr(o, "choices") == null) return TranslatedResponse.fail("transformation failed from type " + what + ": 'choices' not in " + routeTypeName(req.route) + " response");
    }
    readOpenAiUsage(o, r.usage);
    const m = getString(o, "model");
    if (m != null) r.model = m;
    // Already the OpenAI shape: passed through unchanged (Kong does the same).
    r.body = body;
    return r;
  }

  newStreamTranslator(req: LlmRequest): StreamTranslator {
    return new OpenAiStreamTranslator(req);
  }

  streamReportsUsage(): bool {
    return true;
  }
}

/** Copies the members of the object value `m` (in src) except `skip`, into the open object of w. */
function copyMembersExcept(w: JsonWriter, src: Uint8Array, m: Member, skip: string): void {
  const inner = src.subarray(m.valueStart, m.valueEnd);
  const ms = scanObject(inner);
  if (ms == null) return;
  for (let i = 0; i < ms.length; i++) {
    const x = unchecked(ms[i]);
    if (x.key == skip) continue;
    w.rawMember(inner, x.keyStart, x.keyEnd, x.valueStart, x.valueEnd);
  }
}

/**
 * OpenAI SSE passed through event by event: usage and model are read from each chunk,
 * the usage-only chunk (`choices: []` + usage) is dropped unless the client asked for
 * it, and the end marker is normalised to `data: [DONE]\n\n`.
 */
export class OpenAiStreamTranslator extends SseStreamTranslator {
  onEvent(ev: SseEvent): string | null {
    if (ev.isDone()) {
      this.done();
      return null;
    }
    const data = ev.data;
    if (data.length == 0) return null;
    const p = parseObject(data);
    if (p.value == null) return "upstream sent an invalid stream event: " + p.error!;
    const o = p.value!;
    const choices = getArr(o, "choices");
    const hasUsage = getObj(o, "usage") != null;
    if (hasUsage) readOpenAiUsage(o, this.usage);
    const m = getString(o, "model");
    if (m != null && m.length > 0) this.model = m;
    if (this.text != null && choices != null) this.collectDelta(choices);
    if (choices != null && choices.length == 0) {
      // The usage-only chunk the gateway asked for, and Azure's prompt-filter annotation
      // chunk (no choices, no usage, empty object/id), are not OpenAI chunks a client expects.
      if (!hasUsage || !this.req.clientIncludeUsage) return null;
    }
    this.out.str("data: ");
    this.out.bytes(data);
    this.out.str("\n\n");
    return null;
  }

  private collectDelta(choices: JSON.Arr): void {
    const c0 = valueObj(arrAt(choices, 0));
    if (c0 == null) return;
    const delta = getObj(c0, "delta");
    const s = delta != null ? getString(delta, "content") : getString(c0, "text");
    if (s != null) this.collect(s);
  }
}
