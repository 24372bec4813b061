// llm-providers: a test-only module exposing lib/llm's providers (and ai-proxy's request
// validation, for test/ai-proxy-request-scan.test.ts) to the test/ai-proxy-providers-*.test.ts files, which call these exports directly (no host): a
// model config, a client request, an upstream body, error or stream in; the translation out.
// The request is built the way the ai-proxy filter builds it (request values win, options
// fill the rest), without the filter's validation, so hostile bodies reach the providers.

import { JSON } from "json-as";
import { getNumber, getObj, getString, parseObject, valueBool } from "../../../lib/json";
import { ByteBuilder, JsonWriter } from "../../../lib/llm/json-writer";
import { Header, LlmRequest, ModelConfig, parseRouteType, Provider, RouteType, StreamTranslator, UNSET, Usage } from "../../../lib/llm/provider";
import { providerFor } from "../../../lib/llm/providers/index";
import { Secrets, StreamRedactor } from "../../../lib/llm/redact";
import { AiProxyConfig, parseConfig } from "../../../lib/llm/route/config";
import { oneWalkTakes, validateRequest } from "../../../lib/llm/route/request";
import { findMember, scanObject, withoutMember } from "../../../lib/llm/json-scan";
import { OpenAiFormatProvider } from "../../../lib/llm/providers/openai-format";

let input = new ArrayBuffer(0);
let output = new ArrayBuffer(0);
let provider: Provider | null = null;
let route: RouteType = RouteType.Chat;
let req: LlmRequest | null = null;
let translator: StreamTranslator | null = null;
let lastUsage: Usage = new Usage();
let lastModel: string = "";

export function inputBuffer(len: i32): usize {
  input = new ArrayBuffer(len);
  return changetype<usize>(input);
}
export function outputPtr(): usize {
  return changetype<usize>(output);
}
export function outputLen(): i32 {
  return output.byteLength;
}

function setOutput(s: string): void {
  output = String.UTF8.encode(s);
}
function setOutputBytes(b: Uint8Array): void {
  output = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
}
function inputBytes(): Uint8Array {
  return Uint8Array.wrap(input);
}

function str(o: JSON.Obj, key: string): string {
  const s = getString(o, key);
  return s != null ? s : "";
}
function int(o: JSON.Obj, key: string): i64 {
  const n = getNumber(o, key);
  return isNaN(n) ? UNSET : <i64>n;
}

/**
 * Input: `{"route_type", "model": {"provider", "name", "options": {...}}}`. Returns 1 with
 * `{"authority","path","query":[[n,v]],"headers":[[n,v]]}` in the output, or 0 with the
 * validation error (or "unknown provider").
 */
export function configure(): i32 {
  const p = parseObject(inputBytes());
  if (p.value == null) {
    setOutput("bad test config: " + p.error!);
    return 0;
  }
  const c = p.value!;
  const r = parseRouteType(str(c, "route_type"));
  route = r < 0 ? RouteType.Chat : <RouteType>r;
  const m = getObj(c, "model");
  const mc = new ModelConfig();
  if (m != null) {
    mc.provider = str(m, "provider");
    mc.name = str(m, "name");
    const o = getObj(m, "options");
    if (o != null) {
      const opt = mc.options;
      opt.maxTokens = int(o, "max_tokens");
      opt.temperature = getNumber(o, "temperature");
      opt.topP = getNumber(o, "top_p");
      opt.topK = int(o, "top_k");
      opt.upstreamUrl = str(o, "upstream_url");
      opt.upstreamPath = str(o, "upstream_path");
      opt.anthropicVersion = str(o, "anthropic_version");
      opt.mistralFormat = str(o, "mistral_format");
      opt.llama2Format = str(o, "llama2_format");
      opt.azureInstance = str(o, "azure_instance");
      opt.azureDeploymentId = str(o, "azure_deployment_id");
      const av = str(o, "azure_api_version");
      if (av.length > 0) opt.azureApiVersion = av;
    }
  }
  const pr = providerFor(mc);
  provider = pr;
  if (pr == null) {
    setOutput("unknown provider");
    return 0;
  }
  const err = pr.validate(route);
  if (err != null) {
    setOutput(err);
    return 0;
  }
  const t = pr.target(route);
  if (t == null) {
    setOutput("unusable upstream URL");
    return 0;
  }
  const w = new JsonWriter();
  w.beginObject().fieldString("authority", t.authority).fieldString("path", t.path).key("query").beginArray();
  for (let i = 0; i < t.query.length; i++) w.beginArray().string(t.query[i].name).string(t.query[i].value).endArray();
  w.endArray().key("headers").beginArray();
  const hs = pr.requestHeaders(route);
  for (let i = 0; i < hs.length; i++) w.beginArray().string(hs[i].name).string(hs[i].value).endArray();
  w.endArray().endObject();
  setOutputBytes(w.toBytes());
  return 1;
}

/** Input: the client body. Returns 1 with the upstream body, or 0 with the 400 message. */
export function request(): i32 {
  const pr = provider;
  if (pr == null) {
    setOutput("not configured");
    return 0;
  }
  const body = inputBytes();
  const p = parseObject(body);
  if (p.value == null) {
    setOutput("bad test body: " + p.error!);
    return 0;
  }
  const o = p.value!;
  const r = new LlmRequest();
  r.route = route;
  r.raw = body;
  r.body = o;
  r.model = pr.config.name.length > 0 ? pr.config.name : str(o, "model");
  r.stream = valueBool(o.get("stream")) == 1;
  const so = getObj(o, "stream_options");
  r.clientIncludeUsage = so != null && valueBool(so.get("include_usage")) == 1;
  const opt = pr.config.options;
  let mt = int(o, "max_tokens");
  if (mt == UNSET) mt = int(o, "max_completion_tokens");
  r.maxTokens = mt != UNSET ? mt : opt.maxTokens;
  const t = getNumber(o, "temperature");
  r.temperature = !isNaN(t) ? t : opt.temperature;
  const tp = getNumber(o, "top_p");
  r.topP = !isNaN(tp) ? tp : opt.topP;
  const tk = int(o, "top_k");
  r.topK = tk != UNSET ? tk : opt.topK;
  r.created = 1735689600;
  r.requestId = route == RouteType.Completions ? "cmpl-test" : "chatcmpl-test";
  req = r;
  const tr = pr.translateRequest(r);
  if (tr.body == null) {
    setOutput(tr.error != null ? tr.error! : "");
    return 0;
  }
  setOutputBytes(tr.body!);
  return 1;
}

/** Input: a 200 upstream body for the last request. Returns 1 with the OpenAI body, or 0 with the failure. */
export function response(): i32 {
  const pr = provider;
  const r = req;
  if (pr == null || r == null) {
    setOutput("no request");
    return 0;
  }
  const tr = pr.translateResponse(r, inputBytes());
  lastUsage = tr.usage;
  lastModel = tr.model;
  if (tr.body == null) {
    setOutput(tr.error != null ? tr.error! : "");
    return 0;
  }
  setOutputBytes(tr.body!);
  return 1;
}

/** Input: an upstream error body. Output: the OpenAI error body. */
export function errorReply(status: u32): i32 {
  const pr = provider;
  if (pr == null) return 0;
  setOutputBytes(pr.translateError(status, inputBytes()));
  return 1;
}

/** Starts a stream translator for the last request (collecting text). */
export function streamStart(): i32 {
  const pr = provider;
  const r = req;
  if (pr == null || r == null) return 0;
  const t = pr.newStreamTranslator(r);
  t.text = new ByteBuilder(256);
  translator = t;
  return 1;
}

/** Input: the next upstream chunk. Output: what goes to the client now. */
export function streamPush(eos: i32): i32 {
  const t = translator;
  if (t == null) return 0;
  setOutputBytes(t.push(inputBytes(), eos != 0));
  return 1;
}

function usageJson(w: JsonWriter, u: Usage): void {
  w.key("usage").beginArray().int(u.promptTokens).int(u.completionTokens).int(u.totalTokens).endArray();
}

/** `{"usage":[p,c,t],"model","finished","failed","text"}` of the stream translator. */
export function streamState(): i32 {
  const t = translator;
  if (t == null) return 0;
  const w = new JsonWriter();
  w.beginObject();
  usageJson(w, t.usage);
  w.fieldString("model", t.model).fieldBool("finished", t.finished).fieldBool("failed", t.failed);
  const tx = t.text;
  w.fieldString("text", tx != null ? tx.toString() : "");
  w.endObject();
  setOutputBytes(w.toBytes());
  return 1;
}

/** `{"usage":[p,c,t],"model"}` of the last response() call. */
export function responseState(): i32 {
  const w = new JsonWriter();
  w.beginObject();
  usageJson(w, lastUsage);
  w.fieldString("model", lastModel).endObject();
  setOutputBytes(w.toBytes());
  return 1;
}

/** streamReportsUsage() of the configured provider. */
export function reportsUsage(): i32 {
  const pr = provider;
  return pr != null && pr.streamReportsUsage() ? 1 : 0;
}

// ---- redaction (lib/llm/redact.ts) ----
let secrets: Secrets = new Secrets();
let redactor: StreamRedactor | null = null;

/** Input: a secret to add to a fresh set (call again to add more after the first with reset=0). */
export function redactAdd(reset: i32): i32 {
  if (reset != 0) secrets = new Secrets();
  secrets.add(String.UTF8.decode(input));
  redactor = new StreamRedactor(secrets);
  return secrets.patterns.length;
}

/** Input: the next chunk. Output: what goes out now (eos flushes what is held back). */
export function redactPush(eos: i32): i32 {
  const r = redactor;
  if (r == null) return 0;
  setOutputBytes(r.push(inputBytes(), eos != 0));
  return r.held;
}

/** Input: a whole body. Output: it masked. */
export function redactWhole(): i32 {
  setOutputBytes(secrets.mask(inputBytes()));
  return 1;
}

let lastString = "";

/**
 * Input: a string (reuse 0), or none (reuse 1: the string of the last call, the same object, as
 * a route's cached model name is). Output: Secrets#maskString of it.
 */
export function redactString(reuse: i32): i32 {
  if (reuse == 0) lastString = String.UTF8.decode(input);
  setOutput(secrets.maskString(lastString));
  return 1;
}

// ---- ai-proxy's request validation (lib/llm/route/request.ts): the one walk against the slow path ----
let proxyCfg: AiProxyConfig | null = null;
let proxyProvider: Provider | null = null;

/** Input: an ai-proxy configuration. 1 when accepted, 0 with the reason in the output. */
export function configureProxy(): i32 {
  const r = parseConfig(Uint8Array.wrap(input), new Map<string, string>());
  if (r.config == null) {
    setOutput(r.error!);
    return 0;
  }
  proxyCfg = r.config;
  proxyProvider = providerFor(r.config!.model);
  return 1;
}

/**
 * Input: a client body. Validates it (fast 1: the one walk first; 0: the slow path only) and,
 * when accepted, translates it as the filter does. Output: everything the filter takes from
 * it, as JSON: {"status","message"} or {"model","stream","include_usage","max_tokens",
 * "temperature","top_p","top_k","spans","translate_agrees","body"}. Returns whether the one walk accepted it.
 */
export function checkRequest(fast: i32): i32 {
  const c = proxyCfg!;
  const body = Uint8Array.wrap(input);
  const v = validateRequest(body, c, 1735689600, "chatcmpl-test", new Array<Header>(), fast != 0);
  const w = new JsonWriter();
  w.beginObject();
  const req = v.req;
  if (req == null) {
    w.fieldInt("status", v.status).fieldString("message", v.message);
  } else {
    w.fieldString("model", req.model).fieldBool("stream", req.stream).fieldBool("include_usage", req.clientIncludeUsage);
    w.fieldInt("max_tokens", req.maxTokens).fieldNumber("temperature", req.temperature).fieldNumber("top_p", req.topP).fieldInt("top_k", req.topK);
    const ms = req.members();
    w.key("spans").beginArray();
    if (ms != null) for (let i = 0; i < ms.length; i++) w.beginArray().string(ms[i].key).int(ms[i].keyStart).int(ms[i].keyEnd).int(ms[i].valueStart).int(ms[i].valueEnd).endArray();
    w.endArray();
    const tr = proxyProvider!.translateRequest(req);
    // OpenAI-format providers: the span path (translateRequest) against the member path, byte for byte.
    const pr = proxyProvider!;
    if (pr instanceof OpenAiFormatProvider) {
      const ref = (<OpenAiFormatProvider>pr).translateMembers(req);
      const a = tr.body;
      const b = ref.body;
      const same = a != null && b != null ? a.length == b.length && memory.compare(a.dataStart, b.dataStart, <usize>a.length) == 0 : a == null && b == null && tr.error == ref.error;
      w.fieldBool("translate_agrees", same && tr.noClientKey == ref.noClientKey);
    }
    if (tr.body != null) {
      const out = c.auth.allowOverride || tr.noClientKey ? tr.body! : withoutMember(tr.body!, "api_key");
      // The shortcut must agree with the walk it saves.
      w.fieldBool("no_client_key_agrees", !tr.noClientKey || withoutMember(tr.body!, "api_key") === tr.body!);
      w.key("body").stringUtf8(out);
    } else {
      w.fieldString("error", tr.error!);
    }
  }
  w.endObject();
  setOutputBytes(w.toBytes());
  return fast != 0 && oneWalkTakes(body) ? 1 : 0;
}

/**
 * Input: a body. withoutMember(body, "api_key") against the member list it shortcuts: output
 * {"agrees": the body came back untouched exactly when scanObject finds no member named api_key,
 * "body": what withoutMember returned}.
 */
export function withoutMemberCheck(): i32 {
  const body = inputBytes();
  const out = withoutMember(body, "api_key");
  const ms = scanObject(body);
  const none = ms == null || findMember(ms, "api_key") == null;
  const w = new JsonWriter();
  w.beginObject().fieldBool("agrees", (out === body) == none).key("body").stringUtf8(out).endObject();
  setOutputBytes(w.toBytes());
  return 1;
}
