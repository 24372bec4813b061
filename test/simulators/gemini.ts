// Gemini API simulator (generativelanguage.googleapis.com): /v1beta/models/{model}:generateContent,
// :streamGenerateContent (?alt=sse: `data: {GenerateContentResponse}` events framed with CRLF as
// Google sends them; without alt: one JSON array), :batchEmbedContents and :embedContent. The key
// comes in `x-goog-api-key` or the `key` query parameter. Errors are Google's
// `{"error":{"code","message","status"}}`; request fields are checked like the real API (an
// unknown field is a 400 "Unknown name"), in camelCase or snake_case as proto JSON allows.
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { json, objectBody, startSimulator } from "./server.ts";
import { EMBED_DIMS, MISSING_MODEL, countWords, echo, embedding, idFrom, isRecord, pieces, toolInput } from "./model.ts";

export interface GeminiOptions {
  /** The accepted API key (default "gemini-test-key"). */
  apiKey?: string;
  /** SSE line ending: Google's "\r\n" (default) or "\n". */
  lineEnding?: "\r\n" | "\n";
  pacing?: Partial<Pacing>;
}

export const GEMINI_DEFAULT_KEY = "gemini-test-key";

const STATUS_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

type Json = Record<string, unknown>;

function googleError(code: number, message: string, details?: unknown[]): Reply {
  const status = STATUS_NAMES[code] ?? (code >= 500 ? "INTERNAL" : "INVALID_ARGUMENT");
  return json(code, { error: { code, message, status, ...(details ? { details } : {}) } }, { "content-type": "application/json; charset=UTF-8" });
}

const invalid = (message: string): Reply => googleError(400, message);
const unknownName = (name: string, at: string): Reply =>
  invalid(`Invalid JSON payload received. Unknown name "${name}"${at ? ` at '${at}'` : ""}: Cannot find field.`);

function forced(status: number, _req: SimRequest): Reply {
  if (status === 429) return googleError(429, "Resource has been exhausted (e.g. check quota).");
  if (status === 503) return googleError(503, "The model is overloaded. Please try again later.");
  if (status === 500) return googleError(500, "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting");
  if (status === 403) return googleError(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
  if (status === 404) return googleError(404, "Requested entity was not found.");
  return googleError(status, "Request contains an invalid argument.");
}

/** proto JSON accepts both names: "max_output_tokens" → "maxOutputTokens". */
function camel(k: string): string {
  return k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The object with camelCase keys, or an "Unknown name" reply for a key outside `known`. */
function fields(o: Json, known: readonly string[], at: string): Json | Reply {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    const c = camel(k);
    if (!known.includes(c)) return unknownName(k, at);
    out[c] = v;
  }
  return out;
}

function isReply(v: unknown): v is Reply {
  return isRecord(v) && typeof v["kind"] === "string" && typeof v["status"] === "number";
}

const REQUEST_FIELDS = ["contents", "tools", "toolConfig", "safetySettings", "systemInstruction", "generationConfig", "cachedContent", "model"];
const GENERATION_FIELDS = [
  "stopSequences", "responseMimeType", "responseSchema", "responseJsonSchema", "candidateCount", "maxOutputTokens", "temperature", "topP", "topK",
  "seed", "presencePenalty", "frequencyPenalty", "responseLogprobs", "logprobs", "responseModalities", "thinkingConfig", "mediaResolution",
];
const PART_FIELDS = ["text", "inlineData", "fileData", "functionCall", "functionResponse", "thought", "thoughtSignature", "executableCode", "codeExecutionResult"];
const DECLARATION_FIELDS = ["name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"];

interface Call {
  name: string;
  args: Json;
}

interface Turn {
  role: string;
  parts: Json[];
}

/** Checks one Content (contents[i] or systemInstruction); returns its normalized parts or an error. */
function content(c: unknown, at: string, system: boolean): Turn | Reply {
  if (!isRecord(c)) return invalid(`Invalid value at '${at}', must be an object`);
  const f = fields(c, ["role", "parts"], at);
  if (isReply(f)) return f;
  const role = f["role"] ?? "user";
  if (!system && role !== "user" && role !== "model") return invalid("Please use a valid role: user, model.");
  const parts = f["parts"];
  if (!Array.isArray(parts) || parts.length === 0) return invalid(`* GenerateContentRequest.${at}.parts: contents.parts must not be empty.\n`);
  const out: Json[] = [];
  for (let j = 0; j < parts.length; j++) {
    const pat = `${at}.parts[${j}]`;
    const raw: unknown = parts[j];
    if (!isRecord(raw)) return invalid(`Invalid value at '${pat}', must be an object`);
    const p = fields(raw, PART_FIELDS, pat);
    if (isReply(p)) return p;
    const data = ["text", "inlineData", "fileData", "functionCall", "functionResponse"].filter((k) => p[k] !== undefined);
    if (data.length !== 1) return invalid(`* GenerateContentRequest.${pat}.data: required oneof field 'data' must have one initialized field\n`);
    if (p["text"] !== undefined && typeof p["text"] !== "string") return invalid(`Invalid value at '${pat}.text', must be a string`);
    const blob = p["inlineData"];
    if (blob !== undefined) {
      const b = isRecord(blob) ? fields(blob, ["mimeType", "data"], `${pat}.inline_data`) : invalid(`Invalid value at '${pat}.inline_data'`);
      if (isReply(b)) return b;
      if (typeof b["mimeType"] !== "string" || typeof b["data"] !== "string" || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(b["data"]))
        return invalid(`Invalid value at '${pat}.inline_data.data' (TYPE_BYTES), Base64 decoding failed`);
    }
    const file = p["fileData"];
    if (file !== undefined) {
      const fd = isRecord(file) ? fields(file, ["mimeType", "fileUri"], `${pat}.file_data`) : invalid(`Invalid value at '${pat}.file_data'`);
      if (isReply(fd)) return fd;
      if (typeof fd["fileUri"] !== "string") return invalid(`* GenerateContentRequest.${pat}.file_data.file_uri: file_uri must be set\n`);
    }
    const call = p["functionCall"];
    if (call !== undefined && !(isRecord(call) && typeof call["name"] === "string")) return invalid(`* GenerateContentRequest.${pat}.function_call.name: name must be set\n`);
    const resp = p["functionResponse"];
    if (resp !== undefined) {
      if (!isRecord(resp) || typeof resp["name"] !== "string") return invalid(`* GenerateContentRequest.${pat}.function_response.name: name must be set\n`);
      if (!isRecord(resp["response"])) return invalid(`Invalid value at '${pat}.function_response.response' (type.googleapis.com/google.protobuf.Struct), must be an object`);
    }
    out.push(p);
  }
  return { role: role as string, parts: out };
}

interface Declaration {
  name: string;
}

function tools(v: unknown): Declaration[] | Reply {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return invalid("Invalid value at 'tools', must be a list");
  const out: Declaration[] = [];
  for (let i = 0; i < v.length; i++) {
    const t: unknown = v[i];
    if (!isRecord(t)) return invalid(`Invalid value at 'tools[${i}]'`);
    const tf = fields(t, ["functionDeclarations", "codeExecution", "googleSearch", "urlContext"], `tools[${i}]`);
    if (isReply(tf)) return tf;
    const decls = tf["functionDeclarations"] ?? [];
    if (!Array.isArray(decls)) return invalid(`Invalid value at 'tools[${i}].function_declarations', must be a list`);
    for (let j = 0; j < decls.length; j++) {
      const at = `tools[${i}].function_declarations[${j}]`;
      const d: unknown = decls[j];
      if (!isRecord(d)) return invalid(`Invalid value at '${at}'`);
      const df = fields(d, DECLARATION_FIELDS, at);
      if (isReply(df)) return df;
      if (typeof df["name"] !== "string" || df["name"] === "") return invalid(`* GenerateContentRequest.${at}.name: Invalid function name. Must start with a letter or an underscore.\n`);
      if (df["parameters"] !== undefined && df["parametersJsonSchema"] !== undefined)
        return invalid(`* GenerateContentRequest.${at}: parameters and parameters_json_schema are mutually exclusive\n`);
      if (df["parametersJsonSchema"] !== undefined && !isRecord(df["parametersJsonSchema"])) return invalid(`Invalid value at '${at}.parameters_json_schema'`);
      out.push({ name: df["name"] });
    }
  }
  return out;
}

interface Choice {
  mode: string;
  allowed: string[];
}

function toolConfig(v: unknown): Choice | Reply {
  if (v === undefined) return { mode: "AUTO", allowed: [] };
  if (!isRecord(v)) return invalid("Invalid value at 'tool_config'");
  const f = fields(v, ["functionCallingConfig"], "tool_config");
  if (isReply(f)) return f;
  const fc = f["functionCallingConfig"];
  if (fc === undefined) return { mode: "AUTO", allowed: [] };
  if (!isRecord(fc)) return invalid("Invalid value at 'tool_config.function_calling_config'");
  const ff = fields(fc, ["mode", "allowedFunctionNames"], "tool_config.function_calling_config");
  if (isReply(ff)) return ff;
  const mode = ff["mode"] ?? "AUTO";
  if (!["AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"].includes(mode as string))
    return invalid(`Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), "${String(mode)}"`);
  const allowed = ff["allowedFunctionNames"] ?? [];
  if (!Array.isArray(allowed) || allowed.some((n) => typeof n !== "string")) return invalid("Invalid value at 'tool_config.function_calling_config.allowed_function_names'");
  return { mode: mode as string, allowed: allowed as string[] };
}

function generationConfig(v: unknown): Json | Reply {
  if (v === undefined) return {};
  if (!isRecord(v)) return invalid("Invalid value at 'generation_config'");
  const g = fields(v, GENERATION_FIELDS, "generation_config");
  if (isReply(g)) return g;
  const max = g["maxOutputTokens"];
  if (max !== undefined && !(typeof max === "number" && Number.isInteger(max) && max >= 1))
    return invalid(`Invalid value at 'generation_config.max_output_tokens' (TYPE_INT32), ${JSON.stringify(max)}`);
  const t = g["temperature"];
  if (t !== undefined && !(typeof t === "number" && t >= 0 && t <= 2)) return invalid("* GenerateContentRequest.generation_config.temperature: temperature must be between 0 and 2\n");
  const stop = g["stopSequences"];
  if (stop !== undefined && (!Array.isArray(stop) || stop.length > 5 || stop.some((s) => typeof s !== "string")))
    return invalid("* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences\n");
  if (g["responseJsonSchema"] !== undefined && g["responseMimeType"] !== "application/json")
    return invalid("* GenerateContentRequest.generation_config.response_mime_type: response_mime_type must be application/json with response_json_schema\n");
  return g;
}

/** The text a part contributes to the prompt count. */
function partText(p: Json): string {
  if (typeof p["text"] === "string") return p["text"];
  const r = p["functionResponse"];
  if (isRecord(r)) return responseText(r["response"] as Json);
  return "";
}

/** A function response as the model reads it: its "output" string, else its JSON. */
function responseText(r: Json): string {
  return typeof r["output"] === "string" ? r["output"] : JSON.stringify(r);
}

/** Gemini 3 models sign their function calls. */
function thinks(model: string): boolean {
  return model.startsWith("gemini-3");
}

/** An opaque signature (base64) derived from the request. */
function signature(raw: string): string {
  return Buffer.from(`sig:${idFrom(raw, 16)}`).toString("base64");
}

function modelVersion(model: string): string {
  return /-\d{3}$/.test(model) ? model : `${model}-001`;
}

function usage(prompt: number, candidates?: number): Json {
  const u: Json = { promptTokenCount: prompt };
  if (candidates !== undefined) u["candidatesTokenCount"] = candidates;
  u["totalTokenCount"] = prompt + (candidates ?? 0);
  u["promptTokensDetails"] = [{ modality: "TEXT", tokenCount: prompt }];
  return u;
}

interface Answer {
  text?: string;
  calls?: Call[];
  finish: "STOP" | "MAX_TOKENS";
  output: number;
}

function answer(turns: Turn[], decls: Declaration[], choice: Choice, max: number | undefined, system = ""): Answer {
  const last = turns[turns.length - 1]!;
  const responses = last.parts.filter((p) => p["functionResponse"] !== undefined);
  const userText = last.parts.map(partText).filter((t) => t !== "").join(" ");
  if (last.role === "user" && responses.length === 0 && decls.length > 0 && choice.mode !== "NONE") {
    const names = choice.mode === "ANY" && choice.allowed.length > 0 ? choice.allowed : decls.map((d) => d.name);
    // "parallel" in the prompt: one call per offered function; otherwise the first one.
    const chosen = /\bparallel\b/.test(userText) ? names : names.slice(0, 1);
    const calls = chosen.map((name) => ({ name, args: toolInput(userText) as Json }));
    return { calls, finish: "STOP", output: calls.reduce((n, c) => n + countWords(JSON.stringify(c.args)), 0) };
  }
  const source = last.role === "user" ? userText : ([...turns].reverse().find((t) => t.role === "user")?.parts.map(partText).join(" ") ?? "");
  const e = echo(source, max, system);
  return { text: e.text, finish: e.truncated ? "MAX_TOKENS" : "STOP", output: e.completionTokens };
}

function candidate(parts: Json[], finish?: string): Json {
  return { content: { parts, role: "model" }, ...(finish ? { finishReason: finish } : {}), index: 0 };
}

function generate(req: SimRequest, body: Json, model: string, method: string, lineEnding: string): Reply {
  const f = fields(body, REQUEST_FIELDS, "");
  if (isReply(f)) return f;
  const contents = f["contents"];
  if (!Array.isArray(contents) || contents.length === 0) return invalid("* GenerateContentRequest.contents: contents is not specified\n");
  const turns: Turn[] = [];
  for (let i = 0; i < contents.length; i++) {
    const t = content(contents[i], `contents[${i}]`, false);
    if (isReply(t)) return t;
    turns.push(t);
  }
  // Every function call of a model turn needs its response in the next turn.
  for (let i = 0; i + 1 < turns.length; i++) {
    const calls = turns[i]!.parts.filter((p) => p["functionCall"] !== undefined).length;
    if (turns[i]!.role !== "model" || calls === 0) continue;
    const responses = turns[i + 1]!.parts.filter((p) => p["functionResponse"] !== undefined).length;
    if (responses !== calls)
      return invalid("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.");
  }
  // Gemini 3 thinks before calling: the first call of each model turn since the last user text
  // must come back with the thoughtSignature it was sent with.
  if (thinks(model)) {
    const lastText = turns.map((t) => t.role === "user" && t.parts.some((p) => typeof p["text"] === "string")).lastIndexOf(true);
    for (let i = lastText + 1; i < turns.length; i++) {
      const first = turns[i]!.parts.find((p) => p["functionCall"] !== undefined);
      if (turns[i]!.role === "model" && first && typeof first["thoughtSignature"] !== "string")
        return invalid(`Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly. Additional data, function call \`${String((first["functionCall"] as Json)["name"])}\` , position ${i}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`);
    }
  }
  let system: Turn | undefined;
  if (f["systemInstruction"] !== undefined) {
    const s = content(f["systemInstruction"], "system_instruction", true);
    if (isReply(s)) return s;
    if (s.parts.some((p) => typeof p["text"] !== "string")) return invalid("* GenerateContentRequest.system_instruction: only text parts are supported\n");
    system = s;
  }
  const decls = tools(f["tools"]);
  if (isReply(decls)) return decls;
  const choice = toolConfig(f["toolConfig"]);
  if (isReply(choice)) return choice;
  const gen = generationConfig(f["generationConfig"]);
  if (isReply(gen)) return gen;

  const prompt = [...(system ? [system] : []), ...turns].reduce((n, t) => n + t.parts.reduce((m, p) => m + countWords(partText(p)), 0), 0);
  const a = answer(turns, decls, choice, gen["maxOutputTokens"] as number | undefined, system ? system.parts.map(partText).join("\n") : "");
  const meta = { modelVersion: modelVersion(model), responseId: idFrom(req.raw, 22) };
  const final = (parts: Json[]): Json => ({ candidates: [candidate(parts, a.finish)], usageMetadata: usage(prompt, a.output), ...meta });
  const callParts = (a.calls ?? []).map((c, i) => ({ functionCall: { name: c.name, args: c.args }, ...(thinks(model) && i === 0 ? { thoughtSignature: signature(req.raw) } : {}) }));
  if (method === "generateContent") return json(200, final(a.text !== undefined ? [{ text: a.text }] : callParts));

  // streamGenerateContent: one chunk per word piece (running usage), the last with finishReason and full usage.
  const chunks: Json[] = [];
  if (a.text !== undefined) {
    const ps = pieces(a.text);
    ps.forEach((p, i) => chunks.push(i === ps.length - 1 ? final([{ text: p }]) : { candidates: [candidate([{ text: p }])], usageMetadata: usage(prompt), ...meta }));
    if (ps.length === 0) chunks.push(final([{ text: "" }]));
  } else {
    chunks.push(final(callParts));
  }
  if (req.query.get("alt") === "sse") {
    const end = lineEnding + lineEnding;
    return { kind: "stream", status: 200, headers: { "content-type": "text/event-stream", "x-content-type-options": "nosniff" }, events: chunks.map((c) => `data: ${JSON.stringify(c)}${end}`) };
  }
  // Without alt=sse the stream is one JSON array, written element by element.
  const events = chunks.map((c, i) => (i === 0 ? "[" : ",\r\n") + JSON.stringify(c));
  events.push("]");
  return { kind: "stream", status: 200, headers: { "content-type": "application/json; charset=UTF-8" }, events };
}

/** One EmbedContentRequest → its vector (cut to outputDimensionality). */
function embedOne(r: unknown, at: string, urlModel: string | null): number[] | Reply {
  if (!isRecord(r)) return invalid(`Invalid value at '${at}'`);
  const f = fields(r, ["model", "content", "taskType", "title", "outputDimensionality"], at);
  if (isReply(f)) return f;
  if (urlModel !== null && f["model"] !== `models/${urlModel}`)
    return invalid(`* BatchEmbedContentsRequest.${at}.model: The model in each request must match the model of the batch request (models/${urlModel}).\n`);
  const c = content(f["content"], `${at}.content`, true);
  if (isReply(c)) return c;
  const dims = f["outputDimensionality"];
  if (dims !== undefined && !(typeof dims === "number" && Number.isInteger(dims) && dims >= 1)) return invalid(`Invalid value at '${at}.output_dimensionality' (TYPE_INT32)`);
  const v = embedding(c.parts.map(partText).join(" "));
  return dims !== undefined ? v.slice(0, Math.min(dims as number, EMBED_DIMS)) : v;
}

function embed(body: Json, model: string, method: string): Reply {
  if (method === "embedContent") {
    const v = embedOne(body, "", null);
    return isReply(v) ? v : json(200, { embedding: { values: v } });
  }
  const f = fields(body, ["requests"], "");
  if (isReply(f)) return f;
  const reqs = f["requests"];
  if (!Array.isArray(reqs) || reqs.length === 0) return invalid("* BatchEmbedContentsRequest.requests: requests must not be empty\n");
  const out: Json[] = [];
  for (let i = 0; i < reqs.length; i++) {
    const v = embedOne(reqs[i], `requests[${i}]`, model);
    if (isReply(v)) return v;
    out.push({ values: v });
  }
  return json(200, { embeddings: out });
}

const PATH = /^\/(v1|v1beta)\/models\/([^/:]+):(generateContent|streamGenerateContent|batchEmbedContents|embedContent)$/;

function provider(apiKey: string, lineEnding: string): Provider {
  return {
    forcedError: forced,
    streamError: (message) => `data: ${JSON.stringify({ error: { code: 500, message, status: "INTERNAL" } })}${lineEnding}${lineEnding}`,
    handle(req) {
      const m = PATH.exec(req.path);
      if (req.method !== "POST" || !m) return googleError(404, `Method not found: ${req.method} ${req.path}`);
      const [, version, model, method] = m as unknown as [string, string, string, string];
      const key = req.headers["x-goog-api-key"] ?? req.query.get("key") ?? undefined;
      if (key === undefined) return forced(403, req);
      if (key !== apiKey)
        return googleError(400, "API key not valid. Please pass a valid API key.", [
          { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } },
        ]);
      const embedding = method === "batchEmbedContents" || method === "embedContent";
      if (model === MISSING_MODEL || embedding !== model.includes("embedding"))
        return googleError(404, `models/${model} is not found for API version ${version}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`);
      const body = objectBody(req);
      if (!body) return invalid(`Invalid JSON payload received. Unexpected token.`);
      return embedding ? embed(body, model, method) : generate(req, body, model, method, lineEnding);
    },
  };
}

export function startGemini(opts: GeminiOptions = {}): Promise<Simulator> {
  return startSimulator(provider(opts.apiKey ?? GEMINI_DEFAULT_KEY, opts.lineEnding ?? "\r\n"), opts.pacing);
}
