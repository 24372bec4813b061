// ai-response-transformer through the local gateway: a plain HTTP client, a plain (non-AI) JSON
// upstream, and the LLM as the OpenAI and Anthropic simulators in their transformer mode
// (`sim-reply:` in the prompt scripts the answer). Kong's behaviour (reference §8): the upstream
// body goes to the LLM with the prompt; without instructions the client gets the upstream's
// status and headers with the LLM's text as body; with parse_llm_response_json_instructions the
// LLM's {status, headers, body} decides the response; content-length, content-encoding and
// transfer-encoding are dropped from the upstream's headers; gzip is inflated.
//
// What Envoy allows, from its C++ source:
// - source/extensions/common/wasm/context.cc: Context::encodeHeaders keeps response_headers_
//   (writable) unless the result is Continue; the Context constructor reads the PluginConfig's
//   allow_on_headers_stop_iteration, which proxy-wasm-cpp-host's
//   convertVmCallResultToFilterHeadersStatus (src/context.cc) uses to turn a Pause into
//   StopIteration; without it a Pause is StopAllIterationAndWatermark.
// - source/common/http/filter_manager.cc FilterManager::handleDataIfStopAll: while a filter is
//   stopped-all, body data is buffered for it and its encodeData is not called, so a filter that
//   paused its response headers on stock Envoy would never see the body (a silent hang). The
//   filter therefore never pauses unless its configuration says Envoy allows it, and answers
//   500 saying why when instructions need it.
import { describe, expect, it } from "vitest";
import { gzipSync, brotliCompressSync } from "node:zlib";
import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { countWords, OPENAI_DEFAULT_KEY, ANTHROPIC_DEFAULT_KEY, type Simulator } from "./simulators/index.ts";
import type { Received } from "./support/upstream.ts";
import { send, type Reply } from "./support/client.ts";
import { filter, type RunningGateway } from "./support/gateway.ts";
import { anthropicLlm, openaiLlm, TransformerRig, type TransformerGatewaySpec } from "./support/transformer.ts";
import type http from "node:http";
import { accessLogLines } from "./support/access-log.ts";

const NAME = "ai-response-transformer";
const WEATHER = '{"city":"Paris","temp_c":21,"sky":"clear"}';
const TRANSLATE = "Translate every value of the JSON into French.\nsim-reply: FR {input}";
const NEEDS =
  "parse_llm_response_json_instructions needs the upstream response headers held while its body is read: run this filter with allow_on_headers_stop_iteration: true in Envoy (1.35 or later) and set allow_on_headers_stop_iteration: true in its configuration";

/** The plain JSON API: /weather, /gone (404), /gzip, /br, /empty (204), /big (a large body). */
function api(r: Received, res: http.ServerResponse): void {
  const json = { "content-type": "application/json", "x-upstream": "weather-api", "set-cookie": "session=upstream-secret" };
  if (r.path === "/gone") {
    res.writeHead(404, json);
    res.end('{"error":"no such city"}');
  } else if (r.path === "/gzip") {
    res.writeHead(200, { ...json, "content-encoding": "gzip" });
    res.end(gzipSync(WEATHER));
  } else if (r.path === "/badgzip") {
    res.writeHead(200, { ...json, "content-encoding": "gzip" });
    res.end(Buffer.concat([gzipSync(WEATHER).subarray(0, 20), Buffer.from("garbage")]));
  } else if (r.path === "/br") {
    res.writeHead(200, { ...json, "content-encoding": "br" });
    res.end(brotliCompressSync(WEATHER));
  } else if (r.path === "/empty") {
    res.writeHead(204, json);
    res.end();
  } else if (r.path === "/binary") {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end(Buffer.from([0xff, 0x00, 0xfe, 0xc3, 0x28]));
  } else if (r.path === "/big") {
    res.writeHead(200, json);
    res.end(JSON.stringify({ items: "x".repeat(256 * 1024) }));
  } else {
    res.writeHead(200, json);
    res.end(WEATHER);
  }
}

const rig = new TransformerRig(NAME, api);
const start = (config: Record<string, unknown>, o: Partial<TransformerGatewaySpec> = {}): Promise<RunningGateway> => rig.start(config, o);

/** A gateway whose Envoy holds response headers on a Pause (and whose filter configuration says so). */
function startHeld(config: Record<string, unknown>, o: Partial<TransformerGatewaySpec> = {}): Promise<RunningGateway> {
  return start({ ...config, allow_on_headers_stop_iteration: true }, { allowOnHeadersStopIteration: true, ...o });
}

const get = (g: RunningGateway, path = "/weather"): Promise<Reply> => send(g.url, { path, headers: { "accept-encoding": "gzip, br", authorization: "Bearer client-token" } });

function expectKongError(r: Reply, status: number, message: string | RegExp): void {
  expect(r.status).toBe(status);
  expect(r.headers["content-type"]).toBe("application/json");
  const m = JSON.parse(r.body).error.message as string;
  if (typeof message === "string") expect(m).toBe(message);
  else expect(m).toMatch(message);
}

function expectNoKeys(g: RunningGateway, ...replies: Reply[]): void {
  for (const r of replies) {
    for (const k of [OPENAI_DEFAULT_KEY, ANTHROPIC_DEFAULT_KEY]) {
      expect(r.body).not.toContain(k);
      expect(JSON.stringify(r.headers)).not.toContain(k);
    }
  }
  for (const l of g.logs) for (const k of [OPENAI_DEFAULT_KEY, ANTHROPIC_DEFAULT_KEY]) expect(l.message).not.toContain(k);
  // The client's own credential for the upstream is not sent to the LLM.
  for (const q of [...rig.openai.requests, ...rig.anthropic.requests]) expect(JSON.stringify(q.headers)).not.toContain("client-token");
}

/** The last user message the OpenAI simulator got. */
const llmInput = (s: Simulator): string => {
  const b = s.requests.at(-1)!.body as { messages: { role: string; content: string }[] };
  return b.messages.at(-1)!.content;
};

describe("without instructions: the upstream's status and headers, the LLM's text as body", () => {
  it("OpenAI on stock Envoy: headers pass at once (no content-length), the body is the LLM's", async () => {
    const g = await start({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
    const r = await get(g);
    expect(r.status).toBe(200);
    expect(r.body).toBe(`FR ${WEATHER}`);
    expect(r.headers["x-upstream"]).toBe("weather-api");
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers["content-length"]).toBeUndefined();
    expect(r.headers["content-encoding"]).toBeUndefined();
    // The body must be readable: the upstream is not asked to compress.
    expect(rig.up.received[0]!.headers["accept-encoding"]).toBeUndefined();
    expect(rig.up.received[0]!.headers["authorization"]).toBe("Bearer client-token");
    const llm = rig.openai.requests[0]!;
    expect(llm.body).toEqual({ model: "gpt-4o-mini", messages: [{ role: "system", content: TRANSLATE }, { role: "user", content: WEATHER }], stream: false });
    expectNoKeys(g, r);
  });

  it("Anthropic at its default URL (cluster api.anthropic.com:443)", async () => {
    const g = await start({ prompt: TRANSLATE, llm: anthropicLlm() });
    const r = await get(g);
    expect(r.status).toBe(200);
    expect(r.body).toBe(`FR ${WEATHER}`);
    const llm = rig.anthropic.requests[0]!;
    expect(llm.body).toMatchObject({ system: TRANSLATE, messages: [{ role: "user", content: WEATHER }] });
    expectNoKeys(g, r);
  });

  it("keeps the upstream's status (404 stays 404)", async () => {
    const g = await start({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
    const r = await get(g, "/gone");
    expect(r.status).toBe(404);
    expect(r.body).toBe('FR {"error":"no such city"}');
  });

  it("with held headers content-length is the new body's", async () => {
    const g = await startHeld({ prompt: "sim-reply: température: vingt et un", llm: openaiLlm(rig.openai.port) });
    const r = await get(g);
    expect(r.status).toBe(200);
    expect(r.body).toBe("température: vingt et un");
    expect(r.headers["content-length"]).toBe(String(Buffer.byteLength("température: vingt et un")));
    expect(r.headers["x-upstream"]).toBe("weather-api");
  });

  it("transformation_extract_pattern keeps the first (case-insensitive) match", async () => {
    const g = await start({ prompt: "sim-reply: Voici: CITY=Paris; merci", transformation_extract_pattern: "city=\\w+", llm: openaiLlm(rig.openai.port) });
    const r = await get(g);
    expect(r.body).toBe("CITY=Paris");
  });

  it("a response without a body passes untouched", async () => {
    const g = await start({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
    const r = await get(g, "/empty");
    expect(r.status).toBe(204);
    expect(rig.openai.requests).toHaveLength(0);
  });
});

describe("with parse_llm_response_json_instructions", () => {
  const ins = (o: unknown): string => `Answer with {status, headers, body}.\nsim-reply: ${JSON.stringify(o)}`;

  it("status, headers merged over the upstream's, and a string body (its escapes resolved)", async () => {
    const text = 'Il fait "beau" à Paris\n\t\\ 😀';
    const g = await startHeld({ prompt: ins({ status: 201, headers: { "X-Translated": "oui", "content-type": "text/plain; charset=utf-8" }, body: text }), parse_llm_response_json_instructions: true, llm: openaiLlm(rig.openai.port) });
    const r = await get(g);
    expect(r.status).toBe(201);
    expect(r.headers["x-translated"]).toBe("oui");
    expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(r.headers["x-upstream"]).toBe("weather-api");
    expect(r.body).toBe(text);
    expect(r.headers["content-length"]).toBe(String(Buffer.byteLength(text)));
    expect(llmInput(rig.openai)).toBe(WEATHER);
    expectNoKeys(g, r);
  });

  it("status defaults to 200 (even over an upstream 404); a JSON body is sent as JSON text", async () => {
    const g = await startHeld({ prompt: ins({ body: { ville: "Paris", temp: 21 } }), parse_llm_response_json_instructions: true, llm: anthropicLlm() });
    const r = await get(g, "/gone");
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ville: "Paris", temp: 21 });
  });

  it("without `body` the whole object is the body", async () => {
    const g = await startHeld({ prompt: ins({ status: 202, ville: "Paris" }), parse_llm_response_json_instructions: true, llm: openaiLlm(rig.openai.port) });
    const r = await get(g);
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ status: 202, ville: "Paris" });
  });

  it.each([
    ["not JSON", "sim-reply: Sure! The status is 200.", /^failed to parse JSON response instructions from AI backend: /],
    ["a JSON array", "sim-reply: [1, 2]", "failed to parse JSON response instructions from AI backend: the answer is not a JSON object"],
    ["a bad status", ins({ status: "teapot" }), "failed to parse JSON response instructions from AI backend: 'status' must be an integer HTTP status code (100-599)"],
    ["a header that splits", ins({ headers: { "x-a": "1\r\nset-cookie: x=1" } }), "failed to parse JSON response instructions from AI backend: header 'x-a' contains CR, LF or NUL"],
    ["a pseudo-header", ins({ headers: { ":status": "200" } }), "failed to parse JSON response instructions from AI backend: header name ':status' is not a valid HTTP header name"],
  ])("%s is Kong's 500", async (_n, prompt, message) => {
    const g = await startHeld({ prompt, parse_llm_response_json_instructions: true, llm: openaiLlm(rig.openai.port) });
    expectKongError(await get(g), 500, message);
    expect(g.logs.filter((l) => l.level >= 4)).toEqual([]);
  });

  it("on stock Envoy (headers cannot be held): a load-time warning, then a 500 that says why, and no LLM call", async () => {
    const g = await start({ prompt: ins({ body: "x" }), parse_llm_response_json_instructions: true, llm: openaiLlm(rig.openai.port) });
    expect(g.logs.some((l) => l.level === 3 && l.message.includes(NEEDS))).toBe(true);
    const r = await get(g);
    expectKongError(r, 500, NEEDS);
    expect(rig.openai.requests).toHaveLength(0);
  });
});

describe("errors", () => {
  it("an LLM error with held headers is Kong's 400", async () => {
    const g = await startHeld({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) }, { env: { OPENAI_API_KEY: "sk-wrong" } });
    const r = await get(g);
    expectKongError(r, 400, "failed to introspect request with AI service: status code 401");
    expect(r.headers["x-upstream"]).toBeUndefined();
    expectNoKeys(g, r);
  });

  it("an LLM error on stock Envoy: the upstream's status has gone out, so the error is the body", async () => {
    const g = await start({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
    rig.openai.failNext(500);
    const r = await get(g);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).error.message).toBe("failed to introspect request with AI service: status code 500");
    expect(g.logs.some((l) => l.level === 3 && l.message.includes("status code 500"))).toBe(true);
  });

  it("http_timeout: a stalled LLM is a 400 timeout error, not a hang", async () => {
    const g = await startHeld({ prompt: TRANSLATE, http_timeout: 300, llm: openaiLlm(rig.openai.port) });
    rig.openai.stallNext(5000);
    expectKongError(await get(g), 400, "failed to introspect request with AI service: timeout (no answer within http_timeout, 300 ms)");
  });

  it("Envoy's own reply for an unreachable upstream passes untouched, without an LLM call", async () => {
    // A closed port: the router answers 503 itself (response code details not via_upstream).
    const g = await start({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) }, { upstreamPort: 1 });
    const r = await get(g);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^upstream connect error/);
    expect(rig.openai.requests).toHaveLength(0);
  });

  it("a missing credential variable is a 500 naming it", async () => {
    const g = await startHeld({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) }, { env: {} });
    expectKongError(await get(g), 500, "the gateway has no credential for the LLM (provider openai): environment variable OPENAI_API_KEY is not set");
  });
});

describe("content encodings and hostile bodies", () => {
  it("a gzip upstream body is inflated before the LLM reads it", async () => {
    for (const held of [false, true]) {
      const g = held ? await startHeld({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) }) : await start({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
      const r = await get(g, "/gzip");
      expect(r.status).toBe(200);
      expect(r.body).toBe(`FR ${WEATHER}`);
      expect(r.headers["content-encoding"]).toBeUndefined();
      expect(llmInput(rig.openai)).toBe(WEATHER);
      await g.close();
      rig.gw = null;
    }
  });

  it("a corrupt gzip body is a 502 that says so (held), never a trap", async () => {
    const g = await startHeld({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
    expectKongError(await get(g, "/badgzip"), 502, /^the upstream's gzip body cannot be inflated: /);
    expect(rig.openai.requests).toHaveLength(0);
    const ok = await get(g);
    expect(ok.body).toBe(`FR ${WEATHER}`);
  });

  it("a gzip body cut at any point is a clear 502, never a trap", async () => {
    const g = await startHeld({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
    const full = gzipSync(WEATHER);
    for (let n = 0; n < full.length; n += 5) {
      rig.up.setHandler((_r, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        res.end(full.subarray(0, n));
      });
      const r = await get(g);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.body).error.message).toMatch(/^the upstream's gzip body cannot be inflated: /);
    }
    rig.up.setHandler(api);
    expect((await get(g)).body).toBe(`FR ${WEATHER}`);
    expect(rig.openai.requests).toHaveLength(1);
  });

  it("an encoding other than gzip is refused with a 502 naming it", async () => {
    const g = await start({ prompt: TRANSLATE, llm: openaiLlm(rig.openai.port) });
    expectKongError(await get(g, "/br"), 502, "the upstream response is encoded with 'br', which ai-response-transformer cannot decode (only gzip)");
  });

  it("binary and large upstream bodies reach the LLM as text", async () => {
    const g = await start({ prompt: "sim-reply: ok", llm: openaiLlm(rig.openai.port) });
    for (const p of ["/binary", "/big"]) {
      const r = await get(g, p);
      expect(r.body).toBe("ok");
    }
    expect(llmInput(rig.openai).length).toBeGreaterThan(256 * 1024);
    expect(g.logs.filter((l) => l.level >= 4)).toEqual([]);
  });
});

describe("analytics and metrics", () => {
  it("writes the LLM call under ai.ai-response-transformer.*, counted by ai-metrics with the LLM's provider and model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aigw-rst-"));
    const path = join(dir, "access.log");
    const g = await start(
      { prompt: TRANSLATE, llm: anthropicLlm() },
      { after: [{ name: "ai-metrics", code: filter("ai-metrics"), config: {} }], accessLog: { path, json: { ai: "%FILTER_STATE(wasm.ai.ai-response-transformer.log:PLAIN)%" } } },
    );
    const r = await get(g);
    expect(r.status).toBe(200);
    const line = JSON.parse((await accessLogLines(path)).at(-1)!) as { ai: string };
    const rec = JSON.parse(line.ai) as Record<string, { meta: Record<string, unknown>; usage: Record<string, number> }>;
    const prompt = countWords(TRANSLATE) + countWords(WEATHER);
    const completion = countWords(`FR ${WEATHER}`);
    expect(rec[NAME]!.meta).toMatchObject({ provider_name: "anthropic", request_model: "claude-3-5-haiku-latest" });
    expect(rec[NAME]!.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
    const stats = await (await fetch(`${g.admin}/stats`)).text();
    const total = stats.split("\n").find((s) => s.includes("ai_llm_tokens_total") && s.includes("ai_provider=.=anthropic") && s.includes("token_type=.=total_tokens"));
    expect(total).toMatch(new RegExp(`: ${prompt + completion}$`));
  });
});
