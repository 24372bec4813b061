// Ollama simulator: /api/chat, /api/generate (NDJSON streaming by default, one JSON object
// per line, a final done:true line with counts and done_reason) and /api/embed. No auth.
// Errors are {"error": "…"}; an unknown path is Go's plain-text "404 page not found".
import type { Pacing, Provider, Reply, SimRequest, Simulator } from "./server.ts";
import { json, startSimulator } from "./server.ts";
import { CREATED_ISO, MISSING_MODEL, contentText, countAll, countWords, echo, embedding, isRecord, pieces, positiveInt, toolInput } from "./model.ts";

export interface OllamaOptions {
  pacing?: Partial<Pacing>;
}

const NDJSON = { "content-type": "application/x-ndjson" };
const JSON_UTF8 = { "content-type": "application/json; charset=utf-8" };

function err(status: number, message: string): Reply {
  return json(status, { error: message }, JSON_UTF8);
}

function forced(status: number, _req: SimRequest): Reply {
  if (status === 503) return err(503, "server busy, please try again.  maximum pending requests exceeded");
  if (status === 429) return err(429, "too many requests");
  if (status >= 500) return err(status, "llama runner process has terminated: exit status 2");
  return err(status, "request refused");
}

function line(obj: unknown): string {
  return `${JSON.stringify(obj)}\n`;
}

/** Durations in nanoseconds, derived from the counts so they are stable. */
function stats(prompt: number, output: number): Record<string, number> {
  return {
    total_duration: 1_000_000 * (prompt + output + 1),
    load_duration: 1_000_000,
    prompt_eval_count: prompt,
    prompt_eval_duration: 1_000_000 * prompt,
    eval_count: output,
    eval_duration: 1_000_000 * output,
  };
}

function numPredict(body: Record<string, unknown>): number | undefined | null {
  const options = body["options"];
  if (options === undefined) return undefined;
  if (!isRecord(options)) return null;
  const n = options["num_predict"];
  // Ollama treats num_predict <= 0 as "no limit" (-1 infinite, -2 fill context).
  if (typeof n === "number" && Number.isInteger(n) && n <= 0) return undefined;
  return positiveInt(n);
}

function chat(body: Record<string, unknown>, model: string): Reply {
  const msgs = body["messages"];
  // No messages: Ollama just loads the model and answers done_reason "load".
  if (msgs === undefined || (Array.isArray(msgs) && msgs.length === 0))
    return json(200, { model, created_at: CREATED_ISO, message: { role: "assistant", content: "" }, done_reason: "load", done: true }, JSON_UTF8);
  if (!Array.isArray(msgs)) return err(400, "json: cannot unmarshal object into Go struct field ChatRequest.messages of type []api.Message");
  for (const m of msgs as unknown[]) if (!isRecord(m) || typeof m["role"] !== "string") return err(400, "invalid message format");
  const list = msgs as Record<string, unknown>[];
  const max = numPredict(body);
  if (max === null) return err(400, "json: cannot unmarshal into Go struct field Options.num_predict of type int");
  const prompt = countAll(list.map((m) => contentText(m["content"])));
  const last = list[list.length - 1];
  const tools = Array.isArray(body["tools"]) ? (body["tools"] as unknown[]) : [];
  const stream = body["stream"] !== false; // streaming is the default
  if (last["role"] === "user" && tools.length > 0) {
    const first = tools[0];
    const fn = isRecord(first) && isRecord(first["function"]) ? first["function"] : {};
    const name = typeof fn["name"] === "string" ? fn["name"] : "tool";
    const args = toolInput(contentText(last["content"]));
    const message = { role: "assistant", content: "", tool_calls: [{ function: { name, arguments: args } }] };
    const output = countWords(JSON.stringify(args));
    const final = { model, created_at: CREATED_ISO, message: { role: "assistant", content: "" }, done_reason: "stop", done: true, ...stats(prompt, output) };
    if (!stream) return json(200, { ...final, message }, JSON_UTF8);
    return { kind: "stream", status: 200, headers: NDJSON, events: [line({ model, created_at: CREATED_ISO, message, done: false }), line(final)] };
  }
  const source = last["role"] === "tool" ? last : ([...list].reverse().find((m) => m["role"] === "user") ?? last);
  const system = list.filter((m) => m["role"] === "system").map((m) => contentText(m["content"])).join("\n");
  const e = echo(contentText(source["content"]), max, system);
  const doneReason = e.truncated ? "length" : "stop";
  if (!stream)
    return json(
      200,
      { model, created_at: CREATED_ISO, message: { role: "assistant", content: e.text }, done_reason: doneReason, done: true, ...stats(prompt, e.completionTokens) },
      JSON_UTF8,
    );
  const events = pieces(e.text).map((p) => line({ model, created_at: CREATED_ISO, message: { role: "assistant", content: p }, done: false }));
  events.push(
    line({ model, created_at: CREATED_ISO, message: { role: "assistant", content: "" }, done_reason: doneReason, done: true, ...stats(prompt, e.completionTokens) }),
  );
  return { kind: "stream", status: 200, headers: NDJSON, events };
}

function generate(body: Record<string, unknown>, model: string): Reply {
  const prompt = body["prompt"];
  if (prompt === undefined || prompt === "")
    return json(200, { model, created_at: CREATED_ISO, response: "", done: true, done_reason: "load" }, JSON_UTF8);
  if (typeof prompt !== "string") return err(400, "json: cannot unmarshal into Go struct field GenerateRequest.prompt of type string");
  const max = numPredict(body);
  if (max === null) return err(400, "json: cannot unmarshal into Go struct field Options.num_predict of type int");
  const system = typeof body["system"] === "string" ? body["system"] : "";
  const input = countWords(system) + countWords(prompt);
  const e = echo(prompt, max);
  const doneReason = e.truncated ? "length" : "stop";
  // `context` is the token state a client can send back; here one number per counted token.
  const context = Array.from({ length: input + e.completionTokens }, (_, i) => i + 1);
  const final = { model, created_at: CREATED_ISO, response: "", done: true, done_reason: doneReason, context, ...stats(input, e.completionTokens) };
  if (body["stream"] === false) return json(200, { ...final, response: e.text }, JSON_UTF8);
  const events = pieces(e.text).map((p) => line({ model, created_at: CREATED_ISO, response: p, done: false }));
  events.push(line(final));
  return { kind: "stream", status: 200, headers: NDJSON, events };
}

function embed(body: Record<string, unknown>, model: string): Reply {
  const input = body["input"] ?? [];
  const texts = typeof input === "string" ? [input] : Array.isArray(input) && input.every((t) => typeof t === "string") ? (input as string[]) : null;
  if (!texts) return err(400, "invalid input type");
  const prompt = countAll(texts);
  return json(
    200,
    { model, embeddings: texts.map((t) => embedding(t)), total_duration: 1_000_000 * (prompt + 1), load_duration: 1_000_000, prompt_eval_count: prompt },
    JSON_UTF8,
  );
}

const provider: Provider = {
  forcedError: forced,
  streamError: (message) => JSON.stringify({ error: message }) + "\n",
  handle(req) {
    const routes: Record<string, (b: Record<string, unknown>, model: string) => Reply> = { "/api/chat": chat, "/api/generate": generate, "/api/embed": embed };
    const route = req.method === "POST" ? routes[req.path] : undefined;
    if (!route) return { kind: "raw", status: 404, headers: { "content-type": "text/plain" }, body: "404 page not found" };
    if (req.raw === "") return err(400, "missing request body");
    const body = req.body;
    if (!isRecord(body)) return err(400, typeof body === "string" ? "invalid character looking for beginning of value" : "json: cannot unmarshal into Go value of type api.Request");
    const model = body["model"];
    if (typeof model !== "string" || model === "") return err(400, "model is required");
    if (model === MISSING_MODEL) return err(404, `model "${model}" not found, try pulling it first`);
    return route(body, model);
  },
};

export function startOllama(opts: OllamaOptions = {}): Promise<Simulator> {
  return startSimulator(provider, opts.pacing);
}
