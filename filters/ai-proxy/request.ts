// Validation of the client's OpenAI-format body into an LlmRequest: Kong's classification
// and model rules, plus type checks with messages that say what is wrong. Never traps.

import { JSON } from "json-as";
import { arrAt, getArr, isNull, isNumberType, parseObject, valueArr, valueBool, valueNumber, valueObj, valueString } from "../../lib/json";
import { Header, LlmRequest, RouteType, routeTypeName, UNSET } from "../../lib/llm/provider";
import { AiProxyConfig, STREAMING_ALWAYS, STREAMING_DENY } from "./config";

/** The validated request, or the status and message of the error reply. */
export class RequestResult {
  req: LlmRequest | null = null;
  status: u32 = 400;
  message: string = "";
}

function fail(status: u32, message: string): RequestResult {
  const r = new RequestResult();
  r.status = status;
  r.message = message;
  return r;
}

const ROLES = ["system", "developer", "user", "assistant", "tool", "function"];

/** null when the message at index i is acceptable, else what is wrong with it. */
function checkMessage(v: JSON.Value | null, i: i32): string | null {
  const at = "messages[" + i.toString() + "]";
  const m = valueObj(v);
  if (m == null) return at + " must be an object";
  const role = valueString(m.get("role"));
  if (role == null) return at + ".role must be a string";
  if (!ROLES.includes(role)) return at + ".role must be one of system, developer, user, assistant, tool, function (got '" + role + "')";
  if (role == "tool" && valueString(m.get("tool_call_id")) == null) return at + ".tool_call_id must be a string for role tool";
  const c = m.get("content");
  if (c == null || isNull(c)) {
    if (role == "assistant") return null; // tool_calls only
    return at + ".content is required for role " + role;
  }
  if (c.type == JSON.Types.String) return null;
  const parts = valueArr(c);
  if (parts == null) return at + ".content must be a string or an array of content parts";
  for (let j = 0; j < parts.length; j++) {
    const pat = at + ".content[" + j.toString() + "]";
    const p = valueObj(arrAt(parts, j));
    if (p == null) return pat + " must be an object";
    const t = valueString(p.get("type"));
    if (t == null) return pat + ".type must be a string";
    if (t == "text" && valueString(p.get("text")) == null) return pat + ".text must be a string";
  }
  return null;
}

/** An optional number field: NaN when absent/null, or records the type error. */
function optNumber(o: JSON.Obj, key: string, err: string[]): f64 {
  const v = o.get(key);
  if (v == null || isNull(v)) return NaN;
  if (!isNumberType(v.type)) {
    err.push("'" + key + "' must be a number");
    return NaN;
  }
  return valueNumber(v);
}

function optInt(o: JSON.Obj, key: string, min: f64, err: string[]): i64 {
  const n = optNumber(o, key, err);
  if (isNaN(n)) return UNSET;
  if (n != Math.floor(n) || n < min || n > 2147483647.0) {
    err.push("'" + key + "' must be an integer >= " + (<i64>min).toString());
    return UNSET;
  }
  return <i64>n;
}

/**
 * Validates `body` for the configured route. `created`/`requestId` seed the response
 * fields; `query` is what the upstream request carries (for providers that care).
 */
export function validateRequest(body: Uint8Array, cfg: AiProxyConfig, created: i64, requestId: string, query: Header[]): RequestResult {
  if (body.length == 0) return fail(400, "request body doesn't contain valid prompts: the body is empty");
  const p = parseObject(body);
  if (p.value == null) {
    const e = p.error!;
    if (e == "expected a JSON object") return fail(400, "request body must be a JSON object");
    return fail(400, "request body is not valid JSON: " + e);
  }
  const o = p.value!;
  const route = cfg.route;
  const hasMessages = o.has("messages") && !isNull(o.get("messages"));
  const hasPrompt = o.has("prompt") && !isNull(o.get("prompt"));
  const hasInput = o.has("input") && !isNull(o.get("input"));
  if (hasMessages && hasPrompt) return fail(400, "request matches multiple LLM request formats");
  let bodyFormat: i32 = -1;
  if (hasMessages) bodyFormat = RouteType.Chat;
  else if (hasPrompt) bodyFormat = RouteType.Completions;
  else if (hasInput) bodyFormat = RouteType.Embeddings;
  if (bodyFormat >= 0 && bodyFormat != <i32>route) {
    return fail(400, "[" + routeTypeName(<RouteType>bodyFormat) + "] message format is not compatible with [" + routeTypeName(route) + "] route type");
  }

  if (route == RouteType.Chat) {
    const msgs = getArr(o, "messages");
    if (!hasMessages) return fail(400, "request body doesn't contain valid prompts: 'messages' is missing");
    if (msgs == null) return fail(400, "'messages' must be an array of message objects");
    if (msgs.length == 0) return fail(400, "request body doesn't contain valid prompts: 'messages' is empty");
    for (let i = 0; i < msgs.length; i++) {
      const e = checkMessage(arrAt(msgs, i), i);
      if (e != null) return fail(400, e);
    }
  } else if (route == RouteType.Completions) {
    if (!hasPrompt) return fail(400, "request body doesn't contain valid prompts: 'prompt' is missing");
    const pv = o.get("prompt")!;
    if (pv.type != JSON.Types.String) {
      const arr = valueArr(pv);
      if (arr == null) return fail(400, "'prompt' must be a string or an array of strings");
      for (let i = 0; i < arr.length; i++) {
        if (valueString(arrAt(arr, i)) == null) return fail(400, "'prompt' must be a string or an array of strings");
      }
    }
  } else if (route == RouteType.Embeddings) {
    if (!hasInput) return fail(400, "request body doesn't contain valid prompts: 'input' is missing");
    const iv = o.get("input")!;
    if (iv.type != JSON.Types.String && iv.type != JSON.Types.Array) return fail(400, "'input' must be a string or an array");
  }

  // model (Kong: the configured model wins; naming another one is refused)
  const err = new Array<string>();
  let model = cfg.model.name;
  const mv = o.get("model");
  if (mv != null && !isNull(mv)) {
    const rm = valueString(mv);
    if (rm == null) return fail(400, "'model' must be a string");
    if (model.length > 0 && rm.length > 0 && rm != model) return fail(400, "cannot use own model - must be: " + model);
    if (model.length == 0) model = rm;
  }
  if (model.length == 0) return fail(400, "model parameter not found in request, nor in gateway configuration");

  const req = new LlmRequest();
  req.route = route;
  req.raw = body;
  req.body = o;
  req.model = model;
  req.created = created;
  req.requestId = requestId;
  req.upstreamQuery = query;

  if (route != RouteType.Embeddings) {
    const sv = o.get("stream");
    let stream = false;
    if (sv != null && !isNull(sv)) {
      const b = valueBool(sv);
      if (b < 0) return fail(400, "'stream' must be a boolean");
      stream = b == 1;
    }
    if (stream && cfg.responseStreaming == STREAMING_DENY) return fail(400, "response streaming is not enabled for this LLM");
    if (cfg.responseStreaming == STREAMING_ALWAYS) stream = true;
    req.stream = stream;
    const so = o.get("stream_options");
    if (so != null && !isNull(so)) {
      const sobj = valueObj(so);
      if (sobj == null) return fail(400, "'stream_options' must be an object");
      const iu = sobj.get("include_usage");
      if (iu != null && !isNull(iu) && valueBool(iu) < 0) return fail(400, "'stream_options.include_usage' must be a boolean");
      req.clientIncludeUsage = valueBool(iu) == 1;
    }
    // Request values win; configured options fill what the request lacks.
    const opt = cfg.model.options;
    const mt = optInt(o, "max_tokens", 1, err);
    const mct = optInt(o, "max_completion_tokens", 1, err);
    req.maxTokens = mt != UNSET ? mt : mct != UNSET ? mct : opt.maxTokens;
    const t = optNumber(o, "temperature", err);
    req.temperature = !isNaN(t) ? t : opt.temperature;
    const tp = optNumber(o, "top_p", err);
    req.topP = !isNaN(tp) ? tp : opt.topP;
    const tk = optInt(o, "top_k", 0, err);
    req.topK = tk != UNSET ? tk : opt.topK;
    if (err.length > 0) return fail(400, unchecked(err[0]));
  }

  const r = new RequestResult();
  r.req = req;
  return r;
}

/** The prompt text (for Kong's token estimate when a provider reports no usage). */
export function promptText(req: LlmRequest): string {
  const o = req.body;
  let s = "";
  const msgs = getArr(o, "messages");
  if (msgs != null) {
    for (let i = 0; i < msgs.length; i++) {
      const m = valueObj(arrAt(msgs, i));
      if (m == null) continue;
      const c = m.get("content");
      const cs = valueString(c);
      if (cs != null) {
        s += cs + " ";
        continue;
      }
      const parts = valueArr(c);
      if (parts == null) continue;
      for (let j = 0; j < parts.length; j++) {
        const part = valueObj(arrAt(parts, j));
        if (part == null) continue;
        const t = valueString(part.get("text"));
        if (t != null) s += t + " ";
      }
    }
    return s;
  }
  const key = req.route == RouteType.Embeddings ? "input" : "prompt";
  const v = o.get(key);
  const vs = valueString(v);
  if (vs != null) return vs;
  const arr = valueArr(v);
  if (arr != null) {
    for (let i = 0; i < arr.length; i++) {
      const e = valueString(arrAt(arr, i));
      if (e != null) s += e + " ";
    }
  }
  return s;
}
