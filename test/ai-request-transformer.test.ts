// ai-request-transformer through the local gateway: a plain HTTP client, a plain (non-AI) JSON
// upstream, and the LLM as the OpenAI and Anthropic simulators in their transformer mode
// (`sim-reply:` in the prompt scripts the answer). Kong's behaviour (reference §7): the body
// goes to the LLM as [system: prompt, user: body] with stream false; the answer (or the first
// case-insensitive match of transformation_extract_pattern) becomes the upstream body; errors
// are 400 with Kong's messages; the upstream is never reached when the transform fails.
//
// Envoy behaviours relied on, from its C++ source:
// - source/extensions/common/wasm/context.cc (Context::decodeHeaders, with proxy-wasm-cpp-host
//   src/context.cc convertVmCallResultToFilterHeadersStatus): a headers Pause is
//   StopAllIterationAndWatermark unless allow_on_headers_stop_iteration, then StopIteration;
//   headers stay writable while held.
// - source/common/router/router.cc (Filter::decodeHeaders): the router starts the upstream
//   request when the headers reach it, before the body; so on stock Envoy a failed transform
//   resets a started upstream request, while held headers never reach the router.
// - source/common/http/async_client_impl.cc: an http_call that times out gets the router's
//   504 "upstream request timeout" local reply, which the filter turns into Kong's 400.
import { describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { countWords, OPENAI_DEFAULT_KEY, ANTHROPIC_DEFAULT_KEY } from "./simulators/index.ts";
import { send, type Reply } from "./support/client.ts";
import { filter, type RunningGateway } from "./support/gateway.ts";
import { anthropicLlm, openaiLlm, TransformerRig, type TransformerGatewaySpec } from "./support/transformer.ts";
import { accessLogLines } from "./support/access-log.ts";

const NAME = "ai-request-transformer";
const TO_JSON = 'Turn the user\'s text into a JSON object {"text": …}.\nsim-reply: {"text": {input_json}}';

const rig = new TransformerRig(NAME);
const start = (config: Record<string, unknown>, o: Partial<TransformerGatewaySpec> = {}): Promise<RunningGateway> => rig.start(config, o);

function post(g: RunningGateway, body: string | Buffer, headers: Record<string, string> = { "content-type": "text/plain" }): Promise<Reply> {
  return send(g.url, { path: "/orders?x=1", body, headers });
}

function expectKongError(r: Reply, status: number, message: string): void {
  expect(r.status).toBe(status);
  expect(r.headers["content-type"]).toBe("application/json");
  expect(JSON.parse(r.body).error.message).toBe(message);
}

/** No secret the gateway holds is in a reply, a log line or the upstream's view. */
function expectNoKeys(g: RunningGateway, ...replies: Reply[]): void {
  for (const r of replies) {
    expect(r.body).not.toContain(OPENAI_DEFAULT_KEY);
    expect(r.body).not.toContain(ANTHROPIC_DEFAULT_KEY);
    expect(JSON.stringify(r.headers)).not.toContain(OPENAI_DEFAULT_KEY);
  }
  for (const l of g.logs) {
    expect(l.message).not.toContain(OPENAI_DEFAULT_KEY);
    expect(l.message).not.toContain(ANTHROPIC_DEFAULT_KEY);
  }
  for (const q of rig.up.received) expect(JSON.stringify(q.headers)).not.toContain(OPENAI_DEFAULT_KEY);
}

/** The VM is alive (a trap fails every later stream with 503) and logged no error. */
async function expectAlive(g: RunningGateway, upstreamBody = '{"text": "still there"}'): Promise<void> {
  const r = await post(g, "still there");
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body).echo).toBe(upstreamBody);
  expect(g.logs.filter((l) => l.level >= 4).map((l) => l.message)).toEqual([]);
}

describe("transforms the request body with the LLM", () => {
  it("OpenAI: the answer replaces the body; the LLM got [system: prompt, user: body] with stream false", async () => {
    const g = await start({ prompt: TO_JSON, llm: openaiLlm(rig.openai.port) });
    const r = await post(g, "two large pizzas, one soda");
    expect(r.status).toBe(200);
    expect(rig.up.received).toHaveLength(1);
    const q = rig.up.received[0]!;
    expect(q.body).toBe('{"text": "two large pizzas, one soda"}');
    expect(q.path).toBe("/orders?x=1");
    expect(q.headers["content-type"]).toBe("text/plain"); // Kong leaves the content type alone
    // Stock Envoy: the headers passed before the body changed, so no stale content-length.
    expect(q.headers["content-length"]).toBeUndefined();
    expect(q.headers["transfer-encoding"]).toBe("chunked");
    expect(rig.openai.requests).toHaveLength(1);
    const llm = rig.openai.requests[0]!;
    expect(llm.path).toBe("/v1/chat/completions");
    expect(llm.headers["authorization"]).toBe(`Bearer ${OPENAI_DEFAULT_KEY}`);
    expect(llm.body).toEqual({
      model: "gpt-4o-mini",
      messages: [
        { role: "system", content: TO_JSON },
        { role: "user", content: "two large pizzas, one soda" },
      ],
      stream: false,
    });
    expectNoKeys(g, r);
    await expectAlive(g);
  });

  it("Anthropic at its default URL: the cluster is the URL's authority, api.anthropic.com:443", async () => {
    const g = await start({ prompt: TO_JSON, llm: anthropicLlm() });
    const r = await post(g, "one espresso");
    expect(r.status).toBe(200);
    expect(rig.up.received[0]!.body).toBe('{"text": "one espresso"}');
    const llm = rig.anthropic.requests[0]!;
    expect(llm.path).toBe("/v1/messages");
    expect(llm.headers["x-api-key"]).toBe(ANTHROPIC_DEFAULT_KEY);
    expect(llm.headers["anthropic-version"]).toBe("2023-06-01");
    expect(llm.body).toMatchObject({ model: "claude-3-5-haiku-latest", system: TO_JSON, messages: [{ role: "user", content: "one espresso" }], max_tokens: 512 });
    expectNoKeys(g, r);
  });

  it("llm_cluster names the cluster instead of the URL's authority", async () => {
    const g = await start({ prompt: TO_JSON, llm_cluster: "llm", llm: openaiLlm(rig.openai.port) }, { llmClusters: { llm: rig.openai.port } });
    const r = await post(g, "hello");
    expect(r.status).toBe(200);
    expect(rig.up.received[0]!.body).toBe('{"text": "hello"}');
    // :authority still comes from the URL.
    expect(rig.openai.requests[0]!.headers["host"]).toBe(`127.0.0.1:${rig.openai.port}`);
  });

  it("with allow_on_headers_stop_iteration the headers are held: content-length is the new body's", async () => {
    const g = await start({ prompt: TO_JSON, allow_on_headers_stop_iteration: true, llm: openaiLlm(rig.openai.port) }, { allowOnHeadersStopIteration: true });
    const r = await post(g, "héllo wörld");
    expect(r.status).toBe(200);
    const q = rig.up.received[0]!;
    expect(q.body).toBe('{"text": "héllo wörld"}');
    expect(q.headers["content-length"]).toBe(String(Buffer.byteLength('{"text": "héllo wörld"}')));
    expect(q.headers["transfer-encoding"]).toBeUndefined();
  });

  it("a JSON client body reaches the LLM as text, byte for byte", async () => {
    const g = await start({ prompt: "Echo.\nsim-reply: {input}", llm: openaiLlm(rig.openai.port) });
    const body = '{"a": [1, 2.50, "x\\u0041"], "b": null}';
    const r = await post(g, body, { "content-type": "application/json" });
    expect(r.status).toBe(200);
    expect((rig.openai.requests[0]!.body as { messages: { content: string }[] }).messages[1]!.content).toBe(body);
    expect(rig.up.received[0]!.body).toBe(body);
  });

  it("a request without a body passes untouched (nothing to transform)", async () => {
    const g = await start({ prompt: TO_JSON, llm: openaiLlm(rig.openai.port) });
    const r = await send(g.url, { path: "/orders" });
    expect(r.status).toBe(200);
    expect(rig.up.received[0]!.method).toBe("GET");
    expect(rig.openai.requests).toHaveLength(0);
  });
});

describe("transformation_extract_pattern", () => {
  it("the first match becomes the body", async () => {
    const prompt = "Answer with JSON.\nsim-reply: Sure! Here it is: {\"text\": {input_json}} Hope that helps {\"x\": 1}";
    const g = await start({ prompt, transformation_extract_pattern: '\\{"text":[^}]*\\}', llm: openaiLlm(rig.openai.port) });
    const r = await post(g, "tea");
    expect(r.status).toBe(200);
    expect(rig.up.received[0]!.body).toBe('{"text": "tea"}');
  });

  it("matches case-insensitively, as Kong does", async () => {
    const g = await start({ prompt: "sim-reply: RESULT: {input_upper} done", transformation_extract_pattern: "result: \\w+", llm: openaiLlm(rig.openai.port) });
    const r = await post(g, "ok");
    expect(r.status).toBe(200);
    expect(rig.up.received[0]!.body).toBe("RESULT: OK");
  });

  it("no match: 400 with Kong's message, and the upstream is never reached (headers held)", async () => {
    const g = await start({ prompt: "sim-reply: nothing useful", transformation_extract_pattern: "\\{.*\\}", allow_on_headers_stop_iteration: true, llm: openaiLlm(rig.openai.port) }, { allowOnHeadersStopIteration: true });
    const before = rig.up.started();
    const r = await post(g, "tea");
    expectKongError(r, 400, "AI response did not match specified regular expression");
    expect(rig.up.started()).toBe(before);
    expect(rig.up.received).toHaveLength(0);
  });

  it("no match on stock Envoy: 400, and no request reaches the upstream complete (the started one is reset)", async () => {
    const g = await start({ prompt: "sim-reply: nothing useful", transformation_extract_pattern: "\\{.*\\}", llm: openaiLlm(rig.openai.port) });
    const r = await post(g, "tea");
    expectKongError(r, 400, "AI response did not match specified regular expression");
    await new Promise((res) => setTimeout(res, 50));
    expect(rig.up.received).toHaveLength(0);
  });
});

describe("errors", () => {
  it("an LLM 401 is Kong's 400 'status code 401'; the LLM's body (which may quote the key) is not passed on", async () => {
    const g = await start({ prompt: TO_JSON, allow_on_headers_stop_iteration: true, llm: openaiLlm(rig.openai.port) }, { allowOnHeadersStopIteration: true, env: { OPENAI_API_KEY: "sk-wrong-key-123" } });
    const before = rig.up.started();
    const r = await post(g, "tea");
    expectKongError(r, 400, "failed to introspect request with AI service: status code 401");
    expect(r.body).not.toContain("sk-wrong");
    expect(rig.up.started()).toBe(before);
    expect(g.logs.map((l) => l.message).join("\n")).not.toContain("sk-wrong-key-123");
  });

  it("an LLM that echoes its key does not pass it on: the key is masked in the forwarded text", async () => {
    const g = await start({ prompt: "sim-reply: your key is {input}", llm: openaiLlm(rig.openai.port) });
    const r = await post(g, OPENAI_DEFAULT_KEY);
    expect(r.status).toBe(200);
    expect(rig.up.received[0]!.body).toBe(`your key is ${"*".repeat(OPENAI_DEFAULT_KEY.length)}`);
    expectNoKeys(g, r);
  });

  it.each([429, 500, 503])("an LLM %i is a 400 naming the status", async (status) => {
    const g = await start({ prompt: TO_JSON, llm: openaiLlm(rig.openai.port) });
    rig.openai.failNext(status);
    const r = await post(g, "tea");
    expectKongError(r, 400, `failed to introspect request with AI service: status code ${status}`);
    expect(rig.up.received).toHaveLength(0);
    await expectAlive(g);
  });

  it("http_timeout: a stalled LLM is a 400 timeout error, not a hang", async () => {
    const g = await start({ prompt: TO_JSON, http_timeout: 300, llm: openaiLlm(rig.openai.port) });
    rig.openai.stallNext(5000);
    const r = await post(g, "tea");
    expectKongError(r, 400, "failed to introspect request with AI service: timeout (no answer within http_timeout, 300 ms)");
    expect(rig.up.received).toHaveLength(0);
  });

  it("an LLM cluster Envoy does not know is a 400 naming it", async () => {
    const g = await start({ prompt: TO_JSON, llm: openaiLlm(rig.openai.port) }, { llmClusters: {} });
    const r = await post(g, "tea");
    expectKongError(r, 400, `failed to introspect request with AI service: Envoy refused the call to cluster '127.0.0.1:${rig.openai.port}'; define that cluster or set llm_cluster`);
  });

  it("a credential variable missing from the environment is a 500 naming the variable, before any call", async () => {
    const g = await start({ prompt: TO_JSON, llm: openaiLlm(rig.openai.port) }, { env: {} });
    const r = await post(g, "tea");
    expectKongError(r, 500, "the gateway has no credential for the LLM (provider openai): environment variable OPENAI_API_KEY is not set");
    expect(rig.openai.requests).toHaveLength(0);
    expect(rig.up.received).toHaveLength(0);
  });
});

describe("bad input never traps", () => {
  it("a body over max_request_body_size is 413 (by content-length and when chunked)", async () => {
    const g = await start({ prompt: TO_JSON, max_request_body_size: 64, llm: openaiLlm(rig.openai.port) });
    const big = "x".repeat(65);
    expectKongError(await post(g, big), 413, "request body is larger than max_request_body_size (64 bytes)");
    const r = await send(g.url, { path: "/", chunks: ["x".repeat(40), "y".repeat(40)], headers: { "content-type": "text/plain" } });
    expectKongError(r, 413, "request body is larger than max_request_body_size (64 bytes)");
    expect(rig.openai.requests).toHaveLength(0);
    await expectAlive(g);
  });

  it("invalid UTF-8, NUL bytes and a 256 KiB body are sent as text", async () => {
    const g = await start({ prompt: "sim-reply: got it", llm: openaiLlm(rig.openai.port) });
    for (const body of [Buffer.from([0xff, 0xfe, 0x00, 0x41, 0xc3]), Buffer.from("\u0000\u0001\"\\"), Buffer.alloc(256 * 1024, 0x61)]) {
      const r = await post(g, body);
      expect(r.status).toBe(200);
      expect(rig.up.received.at(-1)!.body).toBe("got it");
    }
    await expectAlive(g, "got it");
  });

  it("an LLM answer that is not what was asked for is a 400, never a trap", async () => {
    // A fake LLM answering 200 with bodies that are not chat completions.
    const answers = ["not json", "{}", '{"choices": []}', '{"choices": [{"message": {"content": 7}}]}', "[1,2", '{"choices": "x"}', "", '{"choices": [ ]}', '{"choices": [7, {"message": {"content": "hi"}}]}', '{"choices": [{"message": "hi"}]}'];
    let i = 0;
    const fake = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(answers[i++ % answers.length]);
      });
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    const port = (fake.address() as AddressInfo).port;
    try {
      const g = await start({ prompt: TO_JSON, llm_cluster: "fake", llm: openaiLlm(port) }, { llmClusters: { fake: port, [`127.0.0.1:${rig.openai.port}`]: rig.openai.port } });
      const messages: string[] = [];
      for (let k = 0; k < answers.length; k++) {
        const r = await post(g, "tea");
        expect(r.status).toBe(400);
        messages.push(JSON.parse(r.body).error.message as string);
      }
      expect(messages).toContain("no 'choices' in upstream AI service response");
      for (const m of messages) expect(m).toMatch(/^(failed to introspect request with AI service: |no 'choices')/);
      // No choice, and a first choice that is not a message with text: the first choice is the answer.
      const noChoices = "no 'choices' in upstream AI service response";
      const noText = "failed to introspect request with AI service: the answer has no text content";
      expect(messages.slice(7)).toEqual([noChoices, noText, noText]);
      expect(rig.up.received).toHaveLength(0);
      expect(g.logs.filter((l) => l.level >= 4)).toEqual([]);
    } finally {
      fake.closeAllConnections();
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });
});

describe("configuration", () => {
  const llm = { route_type: "llm/v1/chat", model: { provider: "openai", name: "gpt-4o-mini" } };
  const refusals: [string, Record<string, unknown>, string][] = [
    ["http_proxy_host", { prompt: "p", llm, http_proxy_host: "proxy.local", http_proxy_port: 3128 }, "field 'http_proxy_host' is not supported: Envoy reaches the LLM through a cluster"],
    ["https_proxy_port", { prompt: "p", llm, https_proxy_port: 3128 }, "field 'https_proxy_port' is not supported"],
    ["a pattern that needs backtracking", { prompt: "p", llm, transformation_extract_pattern: "(a)\\1" }, "field 'transformation_extract_pattern' cannot be used: "],
    ["a route type other than chat", { prompt: "p", llm: { ...llm, route_type: "llm/v1/completions" } }, "field 'llm.route_type' must be llm/v1/chat for this plugin"],
    ["a missing prompt", { llm }, "field 'prompt' is required"],
    ["a missing llm", { prompt: "p" }, "field 'llm' is required"],
    ["a missing model name", { prompt: "p", llm: { ...llm, model: { provider: "openai" } } }, "field 'llm.model.name' is required for this plugin"],
    ["an unknown field", { prompt: "p", llm, promt: "typo" }, "field 'promt' is unknown"],
    ["an unknown llm field", { prompt: "p", llm: { ...llm, response_streaming: "allow" } }, "field 'llm.response_streaming' is unknown"],
    ["a bad http_timeout", { prompt: "p", llm, http_timeout: 0 }, "field 'http_timeout' must be between 1 and"],
    ["parse_llm_response_json_instructions (response transformer only)", { prompt: "p", llm, parse_llm_response_json_instructions: true }, "field 'parse_llm_response_json_instructions' is unknown"],
    ["a bad upstream_url", { prompt: "p", llm: { ...llm, model: { provider: "openai", name: "m", options: { upstream_url: "ftp://x" } } } }, "field 'llm.model.options.upstream_url' is not a valid http(s) URL"],
  ];
  it.each(refusals)("refuses %s at load, naming the field", async (_n, config, message) => {
    await expect(start(config)).rejects.toThrow(message);
  });

  it("accepts https_verify: false with a warning (TLS verification is the cluster's)", async () => {
    const g = await start({ prompt: TO_JSON, https_verify: false, llm: openaiLlm(rig.openai.port) });
    expect(g.logs.some((l) => l.level === 3 && l.message.includes("field 'https_verify' is false"))).toBe(true);
  });
});

describe("analytics and metrics", () => {
  it("writes the LLM call's usage under ai.ai-request-transformer.*, and ai-metrics counts it with the LLM's provider and model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aigw-rt-"));
    const path = join(dir, "access.log");
    const g = await start(
      { prompt: TO_JSON, llm: openaiLlm(rig.openai.port) },
      {
        after: [{ name: "ai-metrics", code: filter("ai-metrics"), config: {} }],
        accessLog: { path, json: { ai: "%FILTER_STATE(wasm.ai.ai-request-transformer.log:PLAIN)%", prompt: "%FILTER_STATE(wasm.ai.ai-request-transformer.prompt_tokens:PLAIN)%", proxy: "%FILTER_STATE(wasm.ai.provider_name:PLAIN)%" } },
      },
    );
    const r = await post(g, "two large pizzas");
    expect(r.status).toBe(200);
    const line = JSON.parse((await accessLogLines(path)).at(-1)!) as { ai: string; prompt: string; proxy: string | null };
    const rec = JSON.parse(line.ai) as { [k: string]: { meta: Record<string, unknown>; usage: Record<string, number> } };
    const promptTokens = countWords(TO_JSON) + countWords("two large pizzas");
    const completion = countWords('{"text": "two large pizzas"}');
    expect(rec[NAME]!.meta).toMatchObject({ provider_name: "openai", request_model: "gpt-4o-mini", response_model: "gpt-4o-mini" });
    expect(rec[NAME]!.usage).toMatchObject({ prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion });
    expect(rec[NAME]!.usage.cost).toBeCloseTo(((promptTokens + completion) * 10) / 1e6, 12);
    expect(line.prompt).toBe(String(promptTokens));
    expect(line.proxy).toBeNull(); // ai-proxy's keys are not touched
    const stats = await (await fetch(`${g.admin}/stats`)).text();
    const tokens = stats.split("\n").filter((s) => s.includes("ai_llm_tokens_total") && s.includes("ai_provider=.=openai") && s.includes("ai_model=.=gpt-4o-mini"));
    expect(tokens.find((s) => s.includes("token_type=.=prompt_tokens"))).toMatch(new RegExp(`: ${promptTokens}$`));
    expect(tokens.find((s) => s.includes("token_type=.=completion_tokens"))).toMatch(new RegExp(`: ${completion}$`));
  });

  it("an LLM that answers with its key as the model name: the key reaches no log record, access log or stat", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aigw-rt-"));
    const path = join(dir, "access.log");
    const g = await start(
      { prompt: TO_JSON, llm: openaiLlm(rig.openai.port) },
      {
        after: [{ name: "ai-metrics", code: filter("ai-metrics"), config: {} }],
        accessLog: { path, json: { ai: "%FILTER_STATE(wasm.ai.ai-request-transformer.log:PLAIN)%", model: "%FILTER_STATE(wasm.ai.ai-request-transformer.response_model:PLAIN)%" } },
      },
    );
    rig.openai.misbehaveNext({ echo: "model" });
    const r = await post(g, "two large pizzas");
    expect(r.status).toBe(200);
    const line = (await accessLogLines(path)).at(-1)!;
    expect(JSON.parse(line).model).toBe("*".repeat(OPENAI_DEFAULT_KEY.length));
    expect(line).not.toContain(OPENAI_DEFAULT_KEY);
    expect(await (await fetch(`${g.admin}/stats`)).text()).not.toContain(OPENAI_DEFAULT_KEY);
    expectNoKeys(g, r);
  });
});

