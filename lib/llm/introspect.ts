// Kong's "introspection" call (kong/llm `ai_introspect_body`, reference §7): an admin prompt
// and a body go to an LLM as `[system: prompt, user: body]` with stream false, and the text of
// the answer comes back, optionally cut to the first match of a pattern. The call is built with
// the same validation, provider translation and credential placement as ai-proxy's upstream
// request, so every ai-proxy provider can be the LLM. No ABI here: the filters send it.

import { Header, LlmRequest, Provider, UpstreamTarget, Usage } from "./provider";
import { ByteBuilder, JsonWriter } from "./json-writer";
import { makeId } from "./format";
import { AiProxyConfig } from "./route/config";
import { validateRequest } from "./route/request";
import { joinPath } from "./route/url";
import { llmCallHeaders, upstreamQuery, withBodyCredential } from "./route/upstream";
import { RawKind, rawFind, rawKind, rawStart, rawStringBytes, skipSpaceAt, spanEnd, spanStart } from "../json/raw";
import { Regex } from "../regex";

/** Kong's prefix for an LLM call that failed. */
export const INTROSPECT_FAILED = "failed to introspect request with AI service: ";
export const NO_MATCH = "AI response did not match specified regular expression";
export const NO_CHOICES = "no 'choices' in upstream AI service response";

/** One side call to the LLM: path with query, headers, body, and the request it was made from. */
export class LlmCall {
  constructor(
    public path: string,
    public headers: Header[],
    public body: Uint8Array,
    public req: LlmRequest,
  ) {}
}

export class LlmCallBuild {
  constructor(
    public call: LlmCall | null,
    public error: string | null,
  ) {}
}

/** The OpenAI chat body Kong sends: the prompt as system message, the body (as text) as user message. */
export function introspectionBody(model: string, prompt: string, input: Uint8Array): Uint8Array {
  const w = new JsonWriter(new ByteBuilder(input.length + prompt.length + 160));
  w.beginObject();
  if (model.length > 0) w.fieldString("model", model);
  w.key("messages").beginArray();
  w.beginObject().fieldString("role", "system").fieldString("content", prompt).endObject();
  // The body is escaped byte for byte (no UTF-16 copy); invalid UTF-8 becomes U+FFFD.
  w.beginObject().fieldString("role", "user").key("content").stringUtf8(input).endObject();
  w.endArray();
  w.fieldBool("stream", false);
  w.endObject();
  return w.toBytes();
}

/** Builds the call for `input` to the LLM of `cfg` (route llm/v1/chat), or the reason it cannot be made. */
export function buildLlmCall(cfg: AiProxyConfig, provider: Provider, target: UpstreamTarget, prompt: string, input: Uint8Array, created: i64): LlmCallBuild {
  const query = upstreamQuery(target, new Array<Header>(), cfg.auth);
  const v = validateRequest(introspectionBody(cfg.model.name, prompt, input), cfg, created, makeId("chatcmpl-"), query);
  if (v.req == null) return new LlmCallBuild(null, INTROSPECT_FAILED + v.message);
  const req = v.req!;
  const tr = provider.translateRequest(req);
  if (tr.body == null) return new LlmCallBuild(null, INTROSPECT_FAILED + (tr.error != null ? tr.error! : "the request could not be translated for " + provider.name));
  const body = withBodyCredential(tr.body!, cfg.auth);
  return new LlmCallBuild(new LlmCall(joinPath(target.path, query), llmCallHeaders(provider, req.route, cfg.auth), body, req), null);
}

/** What the LLM answered: the text, or Kong's error message; usage and model for the analytics. */
export class Introspection {
  text: Uint8Array | null = null;
  error: string | null = null;
  usage: Usage = new Usage();
  model: string = "";
}

function failed(message: string): Introspection {
  const r = new Introspection();
  r.error = message;
  return r;
}

/**
 * Reads the LLM's answer (`status` 0 when the call failed before a response). The LLM's
 * error body is never passed on: it may quote the credential, so only the status is reported.
 */
export function readLlmAnswer(provider: Provider, req: LlmRequest, status: i32, body: Uint8Array, pattern: Regex | null): Introspection {
  if (status != 200) return failed(INTROSPECT_FAILED + "status code " + status.toString());
  const t = provider.translateResponse(req, body);
  if (t.body == null) return failed(INTROSPECT_FAILED + (t.error != null ? t.error! : "the answer could not be read"));
  const r = new Introspection();
  r.usage = t.usage;
  r.usage.complete();
  r.model = t.model;
  // The translated answer is valid JSON (checked, or written by the provider): read
  // choices[0].message.content on the bytes, without a tree.
  const b = t.body!;
  const top = rawStart(b);
  if (rawKind(b, top) != RawKind.Object) {
    r.error = INTROSPECT_FAILED + "the answer is not a JSON object";
    return r;
  }
  const choices = rawFind(b, top, b.length, "choices");
  // The first choice's start, without skipping over it to find its end (its members are walked
  // next, and the object's own `}` ends that walk): the answer's text is long, and each skip
  // over it is a pass over every byte.
  const first = choices >= 0 && rawKind(b, spanStart(choices)) == RawKind.Array ? skipSpaceAt(b.dataStart, spanStart(choices) + 1, spanEnd(choices)) : -1;
  if (first < 0 || first >= spanEnd(choices) || load<u8>(b.dataStart + <usize>first) == 0x5d) {
    r.error = NO_CHOICES;
    return r;
  }
  const msg = rawKind(b, first) == RawKind.Object ? rawFind(b, first, spanEnd(choices), "message") : -1;
  const content = msg >= 0 && rawKind(b, spanStart(msg)) == RawKind.Object ? rawFind(b, spanStart(msg), spanEnd(msg), "content") : -1;
  if (content < 0 || rawKind(b, spanStart(content)) != RawKind.String) {
    r.error = INTROSPECT_FAILED + "the answer has no text content";
    return r;
  }
  const text = rawStringBytes(b, spanStart(content), spanEnd(content));
  if (pattern == null) {
    r.text = text;
    return r;
  }
  if (!pattern.find(text)) {
    r.error = NO_MATCH;
    return r;
  }
  r.text = text.slice(pattern.matchStart, pattern.matchEnd);
  return r;
}
