// ai-azure-content-safety in front of ai-proxy and the OpenAI simulator, against the Azure
// Content Safety simulator: Kong's fields, messages and statuses (reference §10), every
// guarding mode and text_source, both output types, blocklists, text split at 10,000
// characters, Azure down/slow/garbage with stop_on_error on and off, non-streamed answers
// replaced, and streamed answers cut before any flagged byte.
// Envoy behaviour relied on (source/extensions/common/wasm/context.cc): encodeHeaders keeps the
// response headers while the filter holds them; encodeData with StopIterationAndBuffer keeps
// the body in the encoder buffer, which get/set_buffer_bytes reach from an http-call callback;
// sendLocalResponse → sendLocalReply, which goes straight to the client when the response
// headers are held and not yet sent. cpp-host's convertVmCallResultToFilterHeadersStatus turns
// a headers Pause into StopAllIterationAndWatermark unless allow_on_headers_stop_iteration.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { filter, startGateway, type RunningGateway, type WasmFilterSpec } from "./support/gateway.ts";
import { openaiClient, send } from "./support/client.ts";
import { startContentSafety, startEntraId, startOpenAI, CONTENT_SAFETY_DEFAULT_KEY, type ContentSafetySimulator, type Simulator } from "./simulators/index.ts";
import { accessLogLines } from "./support/access-log.ts";
import { closedPort } from "./support/upstream.ts";

const KEY = CONTENT_SAFETY_DEFAULT_KEY;
const HOST = "contentsafety.test";
const URL_ = `https://${HOST}/contentsafety/text:analyze`;
const CATS = [
  { name: "Hate", rejection_level: 2 },
  { name: "Violence", rejection_level: 4 },
];

let llm: Simulator;
let cs: ContentSafetySimulator;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  llm = await startOpenAI({ pacing: { delayMs: 1 } });
  cs = await startContentSafety({ blocklists: { secrets: ["project nightingale"], empty: [] }, bearerToken: "entra-test-token" });
});
afterAll(async () => {
  // No test trapped a VM (a trap fails it: "wasm vm … failed") or let the key into a log line.
  for (const g of gateways) {
    for (const l of g.logs) {
      expect(l.message).not.toMatch(/wasm vm .* failed/);
      expect(l.message).not.toContain(KEY);
    }
  }
  await Promise.all(gateways.map((g) => g.close()));
  await llm?.close();
  await cs?.close();
});

interface GwOptions {
  hold?: boolean;
  metrics?: boolean;
  csPort?: number;
  accessLog?: Record<string, string>;
  /** More clusters (name → port). */
  clusters?: Record<string, number>;
}

/** content safety → ai-proxy (→ ai-metrics), the key from the VM environment. */
async function gateway(config: Record<string, unknown>, o: GwOptions = {}): Promise<RunningGateway & { logFile?: string }> {
  const filters: WasmFilterSpec[] = [
    {
      name: "safety",
      code: filter("ai-azure-content-safety"),
      config: { content_safety_url: URL_, content_safety_key: "{vault://env/CS_KEY}", categories: CATS, ...config },
      env: { CS_KEY: KEY },
      allowOnHeadersStopIteration: o.hold,
    },
    {
      name: "ai-proxy",
      code: filter("ai-proxy"),
      config: { route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: "Bearer sk-test-openai" }, model: { provider: "openai", name: "gpt-4o-mini" } },
    },
  ];
  if (o.metrics) filters.push({ name: "ai-metrics", code: filter("ai-metrics"), config: {} });
  const logFile = o.accessLog ? join(mkdtempSync(join(tmpdir(), "cs-log-")), "access.log") : undefined;
  const g = await startGateway({
    filters,
    clusters: { upstream: { port: llm.port }, [HOST]: { port: o.csPort ?? cs.port }, ...Object.fromEntries(Object.entries(o.clusters ?? {}).map(([k, v]) => [k, { port: v }])) },
    accessLog: o.accessLog ? { path: logFile!, json: o.accessLog } : undefined,
    extra: o.metrics ? STATS_TAGS : undefined,
  });
  gateways.push(g);
  return Object.assign(g, { logFile });
}

const STATS_TAGS = `
stats_config:
  stats_tags:
  - { tag_name: direction, regex: "(;\\\\.;direction=\\\\.=(.*?);\\\\.;)" }
  - { tag_name: category, regex: "(;\\\\.;category=\\\\.=(.*?);\\\\.;)" }
  - { tag_name: workspace, regex: "(;\\\\.;workspace=\\\\.=(.*?);\\\\.;)" }
`;

type Msg = { role: string; content: string };
const chat = (messages: Msg[], extra: Record<string, unknown> = {}) => JSON.stringify({ model: "gpt-4o-mini", messages, ...extra });
const user = (content: string): Msg => ({ role: "user", content });

async function post(g: RunningGateway, body: string) {
  return send(g.url, { path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body });
}

/** The text:analyze requests made since `from`. */
function azureCalls(from: number) {
  return cs.requests.slice(from);
}

function noKeyLeak(g: RunningGateway, ...bodies: string[]) {
  for (const b of bodies) expect(b).not.toContain(KEY);
  for (const l of g.logs) expect(l.message).not.toContain(KEY);
}

describe("INPUT (Kong's default)", () => {
  let g: RunningGateway;
  beforeAll(async () => {
    g = await gateway({});
  });

  it("sends Azure's documented request and lets a clean prompt through", async () => {
    const a = cs.requests.length;
    const l = llm.requests.length;
    const r = await post(g, chat([{ role: "system", content: "be brief" }, user("hello there")]));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).choices[0].message.content).toBe("echo: hello there");
    expect(llm.requests.length).toBe(l + 1);
    const [call] = azureCalls(a);
    expect(call!.method).toBe("POST");
    expect(call!.path).toBe("/contentsafety/text:analyze");
    expect(call!.query.get("api-version")).toBe("2023-10-01");
    expect(call!.headers["ocp-apim-subscription-key"]).toBe(KEY);
    expect(call!.headers["host"]).toBe(HOST); // the cluster is the URL's authority
    // Kong: each message's content followed by "\n\n"; no blocklists configured, none sent.
    expect(call!.body).toEqual({ text: "be brief\n\nhello there\n\n", categories: ["Hate", "Violence"], outputType: "FourSeverityLevels" });
    noKeyLeak(g, r.body);
  });

  it("refuses a breach with Kong's 400 and never calls the provider", async () => {
    const l = llm.requests.length;
    const r = await post(g, chat([user("I despise them")]));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ error: { message: "request failed content safety check: breached category [Hate] at level 2", type: "invalid_request_error", code: null } });
    expect(r.headers["content-type"]).toBe("application/json");
    expect(llm.requests.length).toBe(l);
  });

  it("joins several breaches with '; ' in configuration order, showing the configured level", async () => {
    const r = await post(g, chat([user("we kill bigots")]));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body).error.message).toBe("request failed content safety check: breached category [Hate] at level 2; breached category [Violence] at level 4");
  });

  it("lets a category below its rejection_level through", async () => {
    const r = await post(g, chat([user("I will punch the wall")])); // Violence 2 < 4
    expect(r.status).toBe(200);
  });

  it("answers Kong's 400s for bodies it cannot read", async () => {
    const bad = await post(g, "{not json");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toBe("request is not in json format");
    for (const body of [JSON.stringify({ model: "m" }), JSON.stringify({ messages: [] }), JSON.stringify({ messages: "hi" })]) {
      const r = await post(g, body);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error.message).toBe("request [messages] array is empty or missing");
    }
  });

  it("splits text over 10,000 characters into several calls; a block in any of them blocks", async () => {
    const filler = "lorem ipsum dolor sit amet ".repeat(800); // 21,600 characters
    const a = cs.requests.length;
    const clean = await post(g, chat([user(filler)]));
    expect(clean.status).toBe(200);
    const calls = azureCalls(a);
    expect(calls.length).toBe(3);
    for (const c of calls) expect([...(c.body as { text: string }).text].length).toBeLessThanOrEqual(10000);
    expect(calls.map((c) => (c.body as { text: string }).text).join("")).toBe(filler + "\n\n");
    const b = cs.requests.length;
    const flagged = await post(g, chat([user(filler + " massacre")]));
    expect(flagged.status).toBe(400);
    expect(azureCalls(b).length).toBe(3);
    expect(JSON.parse(flagged.body).error.message).toBe("request failed content safety check: breached category [Violence] at level 4");
  });
});

describe("splitting never cuts an escape or a character", () => {
  it("emoji, accents, quotes and newlines over 10,000 characters", async () => {
    const g = await gateway({});
    const unit = 'é "q" \\ 😀\tline\n'; // escapes in the JSON body: \", \\, \t, \n; a surrogate pair
    const prompt = unit.repeat(1800); // ~30,000 UTF-16 units
    const a = cs.requests.length;
    const r = await post(g, chat([user(prompt)]));
    expect(r.status).toBe(200); // the simulator refuses a piece over 10,000 characters
    const texts = azureCalls(a).map((c) => (c.body as { text: string }).text);
    expect(texts.length).toBeGreaterThanOrEqual(3);
    for (const t of texts) {
      expect(t.length).toBeLessThanOrEqual(10000);
      expect(t).not.toMatch(/[\uD800-\uDBFF]$/); // no half of a surrogate pair at a cut
    }
    expect(texts.join("")).toBe(prompt + "\n\n");
  });
});

describe("configuration choices", () => {
  it("reveal_failure_reason false answers the bare message; without log_blocked_content the text is not recorded", async () => {
    const g = await gateway({ reveal_failure_reason: false }, { accessLog: { faulty: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.input_faulty_prompt:PLAIN)%", hate: "%FILTER_STATE(wasm.ai.audit.azure_content_safety.Hate:PLAIN)%" } });
    const r = await post(g, chat([user("I despise them")]));
    expect((await accessLogLines(g.logFile!)).map((l) => JSON.parse(l) as unknown)).toEqual([{ faulty: null, hate: "2" }]);
    expect(g.logs.map((l) => l.message).join("\n")).not.toContain("I despise them");
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ error: { message: "request failed content safety check", type: "invalid_request_error", code: null } });
  });

  it.each([
    ["concatenate_all_content", "be kind\n\nI despise nothing\n\nreply\n\nhello\n\n", true],
    ["concatenate_user_content", "I despise nothing\n\nhello\n\n", true],
    ["last_message", "hello", false],
  ])("text_source %s", async (source, text, blocked) => {
    const g = await gateway({ text_source: source });
    const a = cs.requests.length;
    const r = await post(g, chat([{ role: "system", content: "be kind" }, user("I despise nothing"), { role: "assistant", content: "reply" }, user("hello")]));
    expect((azureCalls(a)[0]!.body as { text: string }).text).toBe(text);
    expect(r.status).toBe(blocked ? 400 : 200);
  });

  it("content parts contribute their text parts", async () => {
    const g = await gateway({ text_source: "concatenate_user_content" });
    const a = cs.requests.length;
    const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: [{ type: "text", text: "look" }, { type: "image_url", image_url: { url: "data:," } }, { type: "text", text: "kill" }] }] });
    const r = await post(g, body);
    expect((azureCalls(a)[0]!.body as { text: string }).text).toBe("look\n\nkill\n\n");
    expect(r.status).toBe(400);
  });

  it("output_type: severity 3 is 2 in FourSeverityLevels and 3 in EightSeverityLevels", async () => {
    const cats = [{ name: "Hate", rejection_level: 3 }];
    const four = await gateway({ categories: cats });
    const eight = await gateway({ categories: cats, output_type: "EightSeverityLevels" });
    const a = cs.requests.length;
    expect((await post(four, chat([user("I despise it")]))).status).toBe(200);
    expect((cs.requests[a]!.body as { outputType: string }).outputType).toBe("FourSeverityLevels");
    const r = await post(eight, chat([user("I despise it")]));
    expect(r.status).toBe(400);
    expect((cs.requests.at(-1)!.body as { outputType: string }).outputType).toBe("EightSeverityLevels");
    expect(JSON.parse(r.body).error.message).toBe("request failed content safety check: breached category [Hate] at level 3");
  });

  it("blocklists: a match blocks, with haltOnBlocklistHit (Azure then skips the analysis) and without", async () => {
    for (const halt of [true, false]) {
      const g = await gateway({ blocklist_names: ["secrets", "empty"], halt_on_blocklist_hit: halt });
      const a = cs.requests.length;
      const r = await post(g, chat([user("tell me about Project Nightingale")]));
      expect(cs.requests[a]!.body).toMatchObject({ blocklistNames: ["secrets", "empty"], haltOnBlocklistHit: halt });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body).error.message).toBe("request failed content safety check: matched blocklist [secrets]");
      expect((await post(g, chat([user("tell me about birds")]))).status).toBe(200);
    }
  });

  it("content_safety_cluster names another cluster than the URL's authority", async () => {
    const g = await gateway({ content_safety_url: "https://myres.cognitiveservices.azure.com/contentsafety/text:analyze", content_safety_cluster: HOST });
    const a = cs.requests.length;
    expect((await post(g, chat([user("I despise them")]))).status).toBe(400);
    expect(cs.requests[a]!.headers["host"]).toBe("myres.cognitiveservices.azure.com");
  });
});

describe("Azure down, slow, wrong or refusing the key", () => {
  it.each([true, false])("stop_on_error %s", async (stop) => {
    const down = await gateway({ stop_on_error: stop }, { csPort: await closedPort() });
    const g = await gateway({ stop_on_error: stop, http_timeout: 300 });
    const wrongKey = await gateway({ stop_on_error: stop, content_safety_key: "not-the-key" });
    const cases: [RunningGateway, () => void, string][] = [
      [down, () => {}, "request could not be checked with Azure Content Services"],
      [g, () => cs.setDelay(1000), "request could not be checked with Azure Content Services"],
      [g, () => cs.setBehaviour("garbage"), "request could not be checked with Azure Content Services"],
      [g, () => cs.setBehaviour("wrong-shape"), "request could not be checked with Azure Content Services"],
      [g, () => cs.setBehaviour("empty-analysis"), "request could not be checked with Azure Content Services"],
      [g, () => cs.failNext(503, { nonJson: true }), "request could not be checked with Azure Content Services"],
      [g, () => cs.failNext(429), "request could not be checked with Azure Content Services"],
      [wrongKey, () => {}, "failed to authenticate with Azure Content Services"],
    ];
    for (const [gw, setup, message] of cases) {
      setup();
      const l = llm.requests.length;
      const r = await post(gw, chat([user("I despise them")]));
      cs.setDelay(0);
      cs.setBehaviour("normal");
      if (stop) {
        expect(r.status).toBe(500);
        expect(JSON.parse(r.body)).toEqual({ error: { message, type: "api_error", code: null } });
        expect(llm.requests.length).toBe(l);
      } else {
        expect(r.status).toBe(200); // passes unchecked, with a warning
        expect(llm.requests.length).toBe(l + 1);
      }
      noKeyLeak(gw, r.body);
      expect(gw.logs.some((x) => x.level === 3 && x.message.includes("stop_on_error"))).toBe(true);
    }
    expect(wrongKey.logs.map((x) => x.message).join("\n")).not.toContain("not-the-key");
  });
});

describe("managed identity (azure_use_managed_identity)", () => {
  let entra: Simulator;
  beforeAll(async () => {
    entra = await startEntraId({ clientSecret: "s3cr3t-value" });
  });
  afterAll(async () => {
    await entra?.close();
  });
  const idGateway = (config: Record<string, unknown>) =>
    gateway({ azure_use_managed_identity: true, content_safety_key: null, ...config }, { clusters: { "169.254.169.254": entra.port, "login.microsoftonline.com": entra.port } });

  it("the instance metadata service: one token for every request, sent as Bearer", async () => {
    const g = await idGateway({ azure_client_id: "client-1" });
    const e = entra.requests.length;
    const a = cs.requests.length;
    const r = await Promise.all([post(g, chat([user("hello")])), post(g, chat([user("hi")])), post(g, chat([user("I despise them")]))]);
    expect(r.map((x) => x.status)).toEqual([200, 200, 400]);
    expect((await post(g, chat([user("again")]))).status).toBe(200);
    const tokenCalls = entra.requests.slice(e);
    expect(tokenCalls.length).toBe(1); // the three parallel requests waited for one call
    expect(tokenCalls[0]!.method).toBe("GET");
    expect(tokenCalls[0]!.headers["metadata"]).toBe("true");
    expect(tokenCalls[0]!.query.get("resource")).toBe("https://cognitiveservices.azure.com");
    expect(tokenCalls[0]!.query.get("client_id")).toBe("client-1");
    for (const c of azureCalls(a)) {
      expect(c.headers["authorization"]).toBe("Bearer entra-test-token");
      expect(c.headers["ocp-apim-subscription-key"]).toBeUndefined();
    }
  });

  it("the client-credentials grant with a secret from the environment", async () => {
    const g = await gateway(
      { azure_use_managed_identity: true, content_safety_key: null, azure_tenant_id: "tenant-1", azure_client_id: "client-1", azure_client_secret: "{vault://env/CS_KEY}" },
      { clusters: { "login.microsoftonline.com": entra.port } },
    );
    // CS_KEY holds the content-safety key in this helper: a wrong secret, so first a refusal…
    const e = entra.requests.length;
    const denied = await post(g, chat([user("hello")]));
    expect(denied.status).toBe(500);
    expect(JSON.parse(denied.body).error.message).toBe("failed to authenticate with Azure Content Services");
    const call = entra.requests[e]!;
    expect(call.method).toBe("POST");
    expect(call.path).toBe("/tenant-1/oauth2/v2.0/token");
    const form = new URLSearchParams(call.raw);
    expect(Object.fromEntries(form)).toEqual({ grant_type: "client_credentials", client_id: "client-1", client_secret: KEY, scope: "https://cognitiveservices.azure.com/.default" });
    noKeyLeak(g, denied.body);
    // …and with the right secret, the token.
    const ok = await gateway(
      { azure_use_managed_identity: true, azure_tenant_id: "tenant-1", azure_client_id: "client-1", azure_client_secret: "s3cr3t-value" },
      { clusters: { "login.microsoftonline.com": entra.port } },
    );
    expect((await post(ok, chat([user("hello")]))).status).toBe(200);
    expect(ok.logs.map((l) => l.message).join("\n")).not.toContain("s3cr3t-value");
  });

  it("stop_on_error false lets the request through when no token can be had", async () => {
    const g = await idGateway({ stop_on_error: false });
    entra.failNext(503);
    const l = llm.requests.length;
    expect((await post(g, chat([user("hello")]))).status).toBe(200);
    expect(llm.requests.length).toBe(l + 1);
    expect(g.logs.some((x) => x.message.includes("managed identity: the token endpoint answered status 503"))).toBe(true);
  });
});

describe("OUTPUT, non-streamed", () => {
  it("with the headers held, a flagged answer becomes a 400 OpenAI error and never leaves", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT", hold_response_headers: true }, { hold: true });
    const a = cs.requests.length;
    const r = await post(g, chat([user("we kill")]));
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body)).toEqual({ error: { message: "response failed content safety check: breached category [Violence] at level 4", type: "invalid_request_error", code: "content_filter" } });
    expect(r.body).not.toContain("we kill");
    // OUTPUT only: the prompt was not sent, the answer was.
    expect(azureCalls(a).map((c) => (c.body as { text: string }).text)).toEqual(["echo: we kill"]);
    const ok = await post(g, chat([user("hello")]));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).choices[0].message.content).toBe("echo: hello");
  });

  it("without held headers the status has left: the body alone is replaced", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT" });
    const r = await post(g, chat([user("we kill")]));
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).error.code).toBe("content_filter");
    expect(r.body).not.toContain("we kill");
    const ok = await post(g, chat([user("hello")]));
    expect(JSON.parse(ok.body).choices[0].message.content).toBe("echo: hello");
  });

  it("hold_response_headers without Envoy's allow_on_headers_stop_iteration: the answer never arrives", async () => {
    // StopAllIterationAndWatermark: the body is held from the filter too, until Envoy's timeouts.
    const g = await gateway({ guarding_mode: "OUTPUT", hold_response_headers: true });
    const r = await Promise.race([post(g, chat([user("hello")])), new Promise<null>((res) => setTimeout(() => res(null), 800))]);
    expect(r).toBeNull();
  });

  it("stop_on_error on the answer: 500 when held, passes when off", async () => {
    const closed = await gateway({ guarding_mode: "OUTPUT", hold_response_headers: true, http_timeout: 200 }, { hold: true });
    cs.setDelay(600);
    const r = await post(closed, chat([user("hello")]));
    cs.setDelay(0);
    expect(r.status).toBe(500);
    expect(JSON.parse(r.body).error).toMatchObject({ message: "response could not be checked with Azure Content Services", type: "api_error" });
    const open = await gateway({ guarding_mode: "OUTPUT", stop_on_error: false });
    cs.setBehaviour("garbage");
    const p = await post(open, chat([user("hello")]));
    cs.setBehaviour("normal");
    expect(JSON.parse(p.body).choices[0].message.content).toBe("echo: hello");
  });
});

/** Streams through the gateway and returns every chunk as the client received it. */
async function stream(g: RunningGateway, prompt: string): Promise<{ status: number; chunks: string[]; text: string }> {
  const r = await fetch(`${g.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: chat([user(prompt)], { stream: true }) });
  const chunks: string[] = [];
  const dec = new TextDecoder();
  const reader = r.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(dec.decode(value, { stream: true }));
  }
  return { status: r.status, chunks, text: chunks.join("") };
}

function contentOf(sse: string): string {
  return sse
    .split("\n\n")
    .filter((e) => e.startsWith("data: {"))
    .map((e) => JSON.parse(e.slice(6)) as { choices?: { delta?: { content?: string } }[] })
    .map((j) => j.choices?.[0]?.delta?.content ?? "")
    .join("");
}

describe("OUTPUT, streamed", () => {
  const words = Array.from({ length: 40 }, (_, i) => `word${i}`);

  it("delivers an unflagged stream complete, checked in segments, released before it ends", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT", response_buffer_size: 40 }, { accessLog: { held: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.output_held_text_max:PLAIN)%" } });
    llm.setPacing({ delayMs: 15 });
    const a = cs.requests.length;
    const s = await stream(g, words.join(" "));
    llm.setPacing({ delayMs: 1 });
    expect(s.status).toBe(200);
    expect(contentOf(s.text)).toBe("echo: " + words.join(" "));
    expect(s.text.endsWith("data: [DONE]\n\n")).toBe(true);
    const checks = azureCalls(a).map((c) => (c.body as { text: string }).text);
    expect(checks.length).toBeGreaterThan(3); // segments, not the whole answer at once
    // The whole answer was checked (a word cut between segments is carried into the next).
    expect(checks.join("")).toContain("word39");
    // Released as checks passed: the client got content in several separate reads.
    expect(s.chunks.filter((c) => c.includes('"content"')).length).toBeGreaterThan(2);
    // Never the whole answer held back at once.
    const held = Number((JSON.parse((await accessLogLines((g as { logFile?: string }).logFile!))[0]!) as { held: string }).held);
    expect(held).toBeGreaterThanOrEqual(40);
    expect(held).toBeLessThan(Buffer.byteLength("echo: " + words.join(" ")));
  });

  it("events split across upstream writes are reassembled, checked and delivered whole", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT", response_buffer_size: 25 });
    llm.setPacing({ delayMs: 3, splitWrites: true });
    const ok = await stream(g, words.slice(0, 15).join(" "));
    const bad = await stream(g, [...words.slice(0, 10), "massacre", ...words.slice(10, 15)].join(" "));
    llm.setPacing({ delayMs: 1, splitWrites: false });
    expect(contentOf(ok.text)).toBe("echo: " + words.slice(0, 15).join(" "));
    expect(ok.text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(bad.text).not.toContain("massacre");
    expect(bad.text).not.toContain("[DONE]");
    expect(bad.text).toContain('"code":"content_filter"');
  });

  it("the SDK sees the same answer as without the filter", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT" });
    const client = openaiClient(g.url);
    const st = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "a calm sentence" }], stream: true });
    let text = "";
    for await (const c of st) text += c.choices[0]?.delta?.content ?? "";
    expect(text).toBe("echo: a calm sentence");
  });

  it("a breach mid-stream ends it with an error event and no [DONE]; no flagged byte was sent", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT", response_buffer_size: 30 });
    llm.setPacing({ delayMs: 10 });
    const prompt = [...words.slice(0, 20), "massacre", ...words.slice(20)].join(" ");
    const s = await stream(g, prompt);
    llm.setPacing({ delayMs: 1 });
    expect(s.status).toBe(200);
    expect(s.text).not.toContain("massacre");
    expect(s.text).not.toContain("[DONE]");
    const before = contentOf(s.text);
    expect(before.length).toBeGreaterThan(0); // the text before the breach was delivered
    expect(("echo: " + prompt).startsWith(before)).toBe(true);
    const last = s.text.trim().split("\n\n").at(-1)!;
    expect(JSON.parse(last.slice(6))).toEqual({ error: { message: "response failed content safety check: breached category [Violence] at level 4", type: "invalid_request_error", code: "content_filter" } });
  });

  it("a breach in the last segment is caught before the end", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT", response_buffer_size: 10000 });
    const s = await stream(g, "short and then kill");
    expect(s.text).not.toContain("kill");
    expect(s.text).not.toContain("[DONE]");
    expect(s.text).toContain('"code":"content_filter"');
  });

  it("the openai SDK raises the error event", async () => {
    const g = await gateway({ guarding_mode: "OUTPUT", response_buffer_size: 20 });
    const client = openaiClient(g.url);
    const st = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "one two three four five six we kill them" }], stream: true });
    let text = "";
    const err = await (async () => {
      try {
        for await (const c of st) text += c.choices[0]?.delta?.content ?? "";
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err?.message).toContain("response failed content safety check");
    expect(text).not.toContain("kill");
  });

  it("fails closed mid-stream when Azure fails, and passes with stop_on_error false", async () => {
    const closed = await gateway({ guarding_mode: "OUTPUT", response_buffer_size: 20 });
    cs.setBehaviour("garbage");
    const s = await stream(closed, "a perfectly calm answer");
    expect(s.text).not.toContain("[DONE]");
    expect(s.text).toContain("response could not be checked with Azure Content Services");
    const open = await gateway({ guarding_mode: "OUTPUT", response_buffer_size: 20, stop_on_error: false });
    const p = await stream(open, "a perfectly calm answer");
    cs.setBehaviour("normal");
    expect(contentOf(p.text)).toBe("echo: a perfectly calm answer");
    expect(p.text).toContain("[DONE]");
  });

  it("BOTH checks the prompt and the answer", async () => {
    const g = await gateway({ guarding_mode: "BOTH" });
    const a = cs.requests.length;
    const r = await post(g, chat([user("hello")]));
    expect(r.status).toBe(200);
    expect(azureCalls(a).map((c) => (c.body as { text: string }).text)).toEqual(["hello\n\n", "echo: hello"]);
    expect((await post(g, chat([user("I despise them")]))).status).toBe(400);
  });
});

describe("analytics", () => {
  it("writes Kong's audit fields as filter state and counts blocks in ai-metrics", async () => {
    const g = await gateway(
      { guarding_mode: "BOTH", log_blocked_content: true },
      {
        metrics: true,
        accessLog: {
          hate: "%FILTER_STATE(wasm.ai.audit.azure_content_safety.Hate:PLAIN)%",
          violence: "%FILTER_STATE(wasm.ai.audit.azure_content_safety.Violence:PLAIN)%",
          reason: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.input_block_reason:PLAIN)%",
          latency: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.input_processing_latency:PLAIN)%",
          mode: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.mode:PLAIN)%",
          faulty: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.input_faulty_prompt:PLAIN)%",
        },
      },
    );
    await post(g, chat([user("kill bigots")]));
    await post(g, chat([user("I despise them")]));
    const lines = (await accessLogLines(g.logFile!, 2)).map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines[0]).toMatchObject({ hate: "2", violence: "4", mode: "BOTH", faulty: "kill bigots\n\n", reason: "request failed content safety check: breached category [Hate] at level 2; breached category [Violence] at level 4" });
    expect(Number(lines[0]!.latency)).toBeGreaterThanOrEqual(0);
    const prom = await (await fetch(`${g.admin}/stats/prometheus`)).text();
    expect(prom).toMatch(/ai_azure_content_safety_blocks_total\{direction="input",category="Hate",workspace=""\} 2/);
    expect(prom).toMatch(/ai_azure_content_safety_blocks_total\{direction="input",category="Violence",workspace=""\} 1/);
    expect(prom).not.toMatch(/direction="output"/);
  });

  it("counts an answer's block as direction output, with its audit fields", async () => {
    const g = await gateway(
      { guarding_mode: "OUTPUT", hold_response_headers: true },
      { hold: true, metrics: true, accessLog: { reason: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.output_block_reason:PLAIN)%", violence: "%FILTER_STATE(wasm.ai.audit.azure_content_safety.Violence:PLAIN)%", latency: "%FILTER_STATE(wasm.ai.proxy.azure-content-safety.output_processing_latency:PLAIN)%" } },
    );
    expect((await post(g, chat([user("we kill")]))).status).toBe(400);
    const line = JSON.parse((await accessLogLines(g.logFile!))[0]!) as Record<string, string>;
    expect(line).toMatchObject({ violence: "4", reason: "response failed content safety check: breached category [Violence] at level 4" });
    expect(Number(line.latency)).toBeGreaterThanOrEqual(0);
    const prom = await (await fetch(`${g.admin}/stats/prometheus`)).text();
    expect(prom).toMatch(/ai_azure_content_safety_blocks_total\{direction="output",category="Violence",workspace=""\} 1/);
  });
});

describe("configuration is checked at load, naming the field", () => {
  async function refused(config: Record<string, unknown>, env: Record<string, string> = { CS_KEY: KEY }): Promise<string> {
    try {
      const g = await startGateway({ filters: [{ name: "safety", code: filter("ai-azure-content-safety"), config, env }], clusters: { upstream: { port: llm.port } } });
      await g.close();
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
    throw new Error("configuration was accepted");
  }
  const base = { content_safety_url: URL_, content_safety_key: "{vault://env/CS_KEY}" };

  it.each([
    [{ ...base, azure_use_managed_identity: true, azure_client_secret: "x" }, "field 'azure_tenant_id' and 'azure_client_id' are required with azure_client_secret"],
    [{ ...base, azure_use_managed_identity: true, azure_client_secret: "{vault://env/NOPE2}" }, "field 'azure_client_secret': environment variable NOPE2 is not set"],
    [{ content_safety_key: "k" }, "field 'content_safety_url' is required"],
    [{ ...base, content_safety_url: "ftp://x" }, "field 'content_safety_url' must be an http(s) URL"],
    [{ content_safety_url: URL_ }, "field 'content_safety_key' is required"],
    [{ ...base, content_safety_key: "{vault://env/NOPE}" }, "field 'content_safety_key': environment variable NOPE is not set"],
    [{ ...base, categories: [{ name: "Rude", rejection_level: 2 }] }, "field 'categories[0].name' must be one of Hate, SelfHarm, Sexual, Violence"],
    [{ ...base, categories: [{ name: "Hate", rejection_level: 9 }] }, "field 'categories[0].rejection_level' must be between 0 and 7"],
    [{ ...base, categories: [{ name: "Hate" }] }, "field 'categories[0].rejection_level' is required"],
    [{ ...base, output_type: "Four" }, "field 'output_type' must be FourSeverityLevels or EightSeverityLevels"],
    [{ ...base, guarding_mode: "input" }, "field 'guarding_mode' must be one of INPUT, OUTPUT, BOTH"],
    [{ ...base, text_source: "all" }, "field 'text_source' must be one of"],
    [{ ...base, response_buffer_size: 0 }, "field 'response_buffer_size' must be between 1 and 1048576"],
    [{ ...base, stop_on_error: "yes" }, "field 'stop_on_error' must be a boolean"],
    [{ ...base, blocklist_names: ["a", ""] }, "field 'blocklist_names[1]' must be a non-empty string"],
    [{ ...base, reveal_reason: true }, "field 'reveal_reason' is unknown"],
  ] as [Record<string, unknown>, string][])("refuses %j", async (config, message) => {
    const m = await refused(config);
    expect(m).toContain(message);
    expect(m).not.toContain(KEY);
  });

  it("accepts Kong's full field set with its defaults", async () => {
    const g = await startGateway({
      filters: [
        {
          name: "safety",
          code: filter("ai-azure-content-safety"),
          env: { CS_KEY: KEY },
          config: { ...base, azure_api_version: "2024-09-01", categories: CATS, output_type: "FourSeverityLevels", blocklist_names: null, halt_on_blocklist_hit: true, reveal_failure_reason: true, text_source: "concatenate_all_content", guarding_mode: "INPUT", response_buffer_size: 100, stop_on_error: true, log_blocked_content: false, ssl_verify: true, azure_use_managed_identity: false, azure_client_id: null, azure_client_secret: null, azure_tenant_id: null },
        },
      ],
      clusters: { upstream: { port: llm.port } },
    });
    await g.close();
  });
});




describe("examples/ai-azure-content-safety", () => {
  it("envoy.yaml runs: TLS clusters pointed at the simulators, a prompt and an answer checked, a breach refused and counted", async () => {
    const { parse, stringify } = await import("yaml");
    const root = join(import.meta.dirname, "..");
    const doc = parse(readFileSync(join(root, "examples/ai-azure-content-safety/envoy.yaml"), "utf8")) as {
      admin: { address: { socket_address: { port_value: number } } };
      static_resources: { listeners: { address: { socket_address: { port_value: number } } }[]; clusters: Record<string, unknown>[] };
    };
    // The same file, with loopback plain-HTTP stand-ins for api.openai.com and the Azure resource.
    doc.admin.address.socket_address.port_value = 0;
    doc.static_resources.listeners[0]!.address.socket_address.port_value = 0;
    for (const c of doc.static_resources.clusters) {
      const port = c.name === "openai" ? llm.port : cs.port;
      delete c.transport_socket;
      c.type = "STATIC";
      c.load_assignment = { cluster_name: c.name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] }] };
    }
    const yaml = stringify(doc).replaceAll("filename: build/", `filename: ${root}/build/`);
    process.env.AZURE_CONTENT_SAFETY_KEY = KEY;
    process.env.OPENAI_API_KEY = "sk-test-openai";
    const g = await startGateway(yaml);
    gateways.push(g);
    const url = `http://127.0.0.1:${g.gw.ports.get("gateway")}`;
    const a = cs.requests.length;
    const client = openaiClient(url);
    const ok = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hello" }] });
    expect(ok.choices[0]!.message.content).toBe("echo: hello");
    expect(azureCalls(a).map((c) => (c.body as { text: string }).text)).toEqual(["hello\n\n", "echo: hello"]);
    expect(cs.requests[a]!.headers["host"]).toBe("my-resource.cognitiveservices.azure.com");
    const err = (await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "I despise them" }] }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.message).toContain("request failed content safety check: breached category [Hate] at level 2");
    const prom = await (await fetch(`http://127.0.0.1:${g.gw.adminPort}/stats/prometheus`)).text();
    expect(prom).toMatch(/ai_azure_content_safety_blocks_total\{direction="input",category="Hate",workspace=""\} 1/);
    noKeyLeak(g, prom);
  });
});

describe("examples/ai-azure-content-safety/istio-wasmplugin.yaml", () => {
  it("its pluginConfig is accepted as is and calls Istio's outbound cluster", async () => {
    const { parseAllDocuments } = await import("yaml");
    const root = join(import.meta.dirname, "..");
    const docs = parseAllDocuments(readFileSync(join(root, "examples/ai-azure-content-safety/istio-wasmplugin.yaml"), "utf8")).map((d) => d.toJSON() as { kind: string; spec: Record<string, unknown> });
    const plugin = docs.find((d) => d.kind === "WasmPlugin")!.spec as { pluginConfig: Record<string, unknown>; pluginName: string; vmConfig: { env: { name: string }[] } };
    expect(docs.map((d) => d.kind)).toEqual(["WasmPlugin", "ServiceEntry", "DestinationRule"]);
    const cluster = plugin.pluginConfig.content_safety_cluster as string;
    const g = await startGateway({
      filters: [
        { name: plugin.pluginName, rootId: plugin.pluginName, code: filter("ai-azure-content-safety"), config: plugin.pluginConfig, env: { [plugin.vmConfig.env[0]!.name]: KEY } },
        { name: "ai-proxy", code: filter("ai-proxy"), config: { route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: "Bearer sk-test-openai" }, model: { provider: "openai", name: "gpt-4o-mini" } } },
      ],
      clusters: { upstream: { port: llm.port }, [cluster]: { port: cs.port } },
    });
    gateways.push(g);
    const a = cs.requests.length;
    expect((await post(g, chat([user("we kill")]))).status).toBe(400);
    expect(cs.requests[a]!.headers["host"]).toBe("my-resource.cognitiveservices.azure.com");
  });
});
