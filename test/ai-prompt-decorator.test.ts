// ai-prompt-decorator through the local gateway, in front of a plain upstream that records
// bodies: exact decorated bodies (Kong's order: prepend, the client's messages, append),
// Kong's 400 messages, the body limit, configuration refusals, hostile bodies (never a trap),
// template → decorator chained as Kong orders them, and the shipped example.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { filter, startGateway, type BootstrapSpec, type RunningGateway, type WasmFilterSpec } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send, type Reply } from "./support/client.ts";

const WASM = filter("ai-prompt-decorator");

const PREPEND = [
  { role: "system", content: "You are a pirate." },
  { role: "user", content: "Speak only in rhymes." },
];
const APPEND = [{ role: "assistant", content: "Arr." }, { content: "Remember: rhymes." }];
const BASE_CONFIG = { prompts: { prepend: PREPEND, append: APPEND } };
const PRE_JSON = '{"role":"system","content":"You are a pirate."},{"role":"user","content":"Speak only in rhymes."}';
const APP_JSON = '{"role":"assistant","content":"Arr."},{"role":"system","content":"Remember: rhymes."}';

let up: TestUpstream;
let gw: RunningGateway | null = null;

beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await up.close();
});
afterEach(async () => {
  await gw?.close();
  gw = null;
  up.received.length = 0;
});

async function start(config: unknown, extra: Partial<BootstrapSpec> = {}, before: WasmFilterSpec[] = []): Promise<RunningGateway> {
  gw = await startGateway({ filters: [...before, { name: "ai-prompt-decorator", code: WASM, config }], clusters: { upstream: { port: up.port } }, ...extra });
  return gw;
}

function post(g: RunningGateway, body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return send(g.url, { path: "/v1/chat/completions", body, headers: { "content-type": "application/json", ...headers } });
}

function expectError(r: Reply, status: number, message: string): void {
  expect(r.status).toBe(status);
  expect(r.headers["content-type"]).toBe("application/json");
  expect(JSON.parse(r.body)).toEqual({ error: { message, type: "invalid_request_error", code: null } });
}

/** The VM is alive (a trap would fail every later stream with 503) and logged no error. */
async function expectAlive(g: RunningGateway): Promise<void> {
  const before = up.received.length;
  const r = await post(g, '{"messages":[{"role":"user","content":"still there?"}]}');
  expect(r.status).toBe(200);
  expect(up.received.length).toBe(before + 1);
  expect(up.received.at(-1)!.body).toBe(`{"messages":[${PRE_JSON},{"role":"user","content":"still there?"},${APP_JSON}]}`);
  expect(g.logs.filter((l) => l.level >= 4).map((l) => l.message)).toEqual([]);
}

describe("decorating", () => {
  it("puts prepend before every client message (its own system message included) and append after, in config order", async () => {
    const g = await start(BASE_CONFIG);
    const body = JSON.stringify({
      model: "gpt-4o",
      messages: [
        { role: "system", content: "client system" },
        { role: "user", content: "hi" },
      ],
      temperature: 0.2,
    });
    const r = await post(g, body, { "content-length": String(Buffer.byteLength(body)) });
    expect(r.status).toBe(200);
    const got = up.received[0]!;
    expect(got.body).toBe(
      `{"model":"gpt-4o","messages":[${PRE_JSON},{"role":"system","content":"client system"},{"role":"user","content":"hi"},${APP_JSON}],"temperature":0.2}`,
    );
    expect(got.headers["content-length"]).not.toBe(String(Buffer.byteLength(body)));
  });

  // The messages are spliced into the client's bytes (no re-serialisation): everything outside
  // the new array's brackets, top-level whitespace included, is the client's, byte for byte.
  it("copies the client's members and messages byte for byte (numbers, escapes, extra fields, whitespace)", async () => {
    const g = await start(BASE_CONFIG);
    const body = '{ "n" : 1.0e2 , "messages" : [ { "role":"user", "content":"caf\\u00e9 \\"x\\"", "name":"bob" } , {"role":"tool","tool_call_id":"t1","content":[{"type":"text","text":"42"}]} ] , "big": 12345678901234567890 }';
    const r = await post(g, body);
    expect(r.status).toBe(200);
    expect(up.received[0]!.body).toBe(
      `{ "n" : 1.0e2 , "messages" : [${PRE_JSON},{ "role":"user", "content":"caf\\u00e9 \\"x\\"", "name":"bob" } , {"role":"tool","tool_call_id":"t1","content":[{"type":"text","text":"42"}]},${APP_JSON}] , "big": 12345678901234567890 }`,
    );
  });

  it("keeps one member per key, the last, as a JSON parser would read it", async () => {
    const g = await start(BASE_CONFIG);
    const r = await post(g, '{"model":"a","messages":[{"role":"user","content":"first"}],"model":"b","messages":[{"role":"user","content":"second"}]}');
    expect(r.status).toBe(200);
    expect(up.received[0]!.body).toBe(`{"model":"b","messages":[${PRE_JSON},{"role":"user","content":"second"},${APP_JSON}]}`);
  });

  // Distinct keys are spliced (the client's bytes kept); repeated ones re-serialised. Many keys
  // are told apart with a set rather than pairwise, and an escaped key is the same key.
  it("tells repeated keys apart among many keys and through escapes", async () => {
    const g = await start(BASE_CONFIG);
    const extra = Array.from({ length: 40 }, (_, i) => `"k${i}" : ${i}`).join(" , ");
    const spliced = `{ ${extra} , "messages" : [{"role":"user","content":"hi"}] }`;
    expect((await post(g, spliced)).status).toBe(200);
    expect(up.received[0]!.body).toBe(`{ ${extra} , "messages" : [${PRE_JSON},{"role":"user","content":"hi"},${APP_JSON}] }`);
    const repeated = `{ ${extra} , "k7" : "again", "messages" : [{"role":"user","content":"hi"}] }`;
    expect((await post(g, repeated)).status).toBe(200);
    const kept = Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 7).map((i) => `"k${i}":${i}`).join(",");
    expect(up.received[1]!.body).toBe(`{${kept},"k7":"again","messages":[${PRE_JSON},{"role":"user","content":"hi"},${APP_JSON}]}`);
    expect((await post(g, '{"model":"a","mod\\u0065l":"b","messages":[{"role":"user","content":"hi"}]}')).status).toBe(200);
    expect(up.received[2]!.body).toBe(`{"mod\\u0065l":"b","messages":[${PRE_JSON},{"role":"user","content":"hi"},${APP_JSON}]}`);
  });

  it("handles prepend only and append only, with role defaulting to system and content escaped", async () => {
    let g = await start({ prompts: { prepend: [{ content: 'Say "hi"\n\\ 😀' }] } });
    await post(g, '{"messages":[{"role":"user","content":"q"}]}');
    expect(up.received[0]!.body).toBe('{"messages":[{"role":"system","content":"Say \\"hi\\"\\n\\\\ 😀"},{"role":"user","content":"q"}]}');
    await g.close();
    g = await start({ prompts: { append: [{ role: "user", content: "last" }], prepend: null } });
    await post(g, '{"messages":[{"role":"user","content":"q"}]}');
    expect(up.received[1]!.body).toBe('{"messages":[{"role":"user","content":"q"},{"role":"user","content":"last"}]}');
  });

  it("decorates a body that arrives in many chunks", async () => {
    const g = await start(BASE_CONFIG);
    const text = "z".repeat(5000);
    const body = JSON.stringify({ messages: [{ role: "user", content: text }] });
    const r = await send(g.url, { path: "/v1/chat/completions", chunks: body.match(/[\s\S]{1,900}/g)!, gapMs: 2 });
    expect(r.status).toBe(200);
    expect(up.received[0]!.body).toBe(`{"messages":[${PRE_JSON},{"role":"user","content":"${text}"},${APP_JSON}]}`);
  });
});

describe("Kong's 400 messages and bad input", () => {
  const NOT_CHAT = "this LLM route only supports llm/chat type requests";
  const NOT_JSON = "this LLM route only supports application/json requests";
  const cases: [string, string | Buffer, string][] = [
    ["a completions request", '{"prompt":"hello"}', NOT_CHAT],
    ["an empty messages array", '{"messages":[]}', NOT_CHAT],
    ["messages as a string (a template reference nobody rendered)", '{"messages":"{template://x}"}', NOT_CHAT],
    ["messages as an object", '{"messages":{"role":"user"}}', NOT_CHAT],
    ["messages as null", '{"messages":null}', NOT_CHAT],
    ["a top-level array", '[{"role":"user","content":"hi"}]', NOT_CHAT],
    ["a top-level number", "42", NOT_JSON],
    ["malformed JSON", '{"messages":[{"role":"user","content":"hi"}]]', NOT_JSON],
    ["a trailing comma", '{"messages":[{"role":"user","content":"hi"},]}', NOT_JSON],
    ["invalid UTF-8", Buffer.concat([Buffer.from('{"messages":[{"role":"user","content":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}]}')]), NOT_JSON],
    ["an unescaped control character", '{"messages":[{"role":"user","content":"a\u0001b"}]}', NOT_JSON],
    ["nesting deeper than 64", `{"messages":[{"role":"user","content":"x"}],"deep":${"{\"a\":".repeat(80)}1${"}".repeat(80)}}`, NOT_JSON],
    ["an empty body", "", NOT_JSON],
  ];

  it.each(cases)("%s", async (_name, body, message) => {
    const g = await start(BASE_CONFIG);
    expectError(await post(g, body), 400, message);
    expect(up.received).toHaveLength(0);
    await expectAlive(g);
  });

  it("answers a request without a body with Kong's JSON-only message", async () => {
    const g = await start(BASE_CONFIG);
    expectError(await send(g.url, { path: "/v1/chat/completions" }), 400, NOT_JSON);
    expect(up.received).toHaveLength(0);
  });

  it("survives a 1000-deep body and a body of 10,000 tiny members, then serves the next request", async () => {
    const g = await start(BASE_CONFIG, { bufferLimit: 4 << 20 });
    expectError(await post(g, `{"messages":${"[".repeat(1000)}${"]".repeat(1000)}}`), 400, NOT_JSON);
    const members = Array.from({ length: 10000 }, (_, i) => `"k${i}":${i}`).join(",");
    const r = await post(g, `{${members},"messages":[{"role":"user","content":"x"}]}`);
    expect(r.status).toBe(200);
    const sent = JSON.parse(up.received[0]!.body) as Record<string, unknown>;
    expect(Object.keys(sent)).toHaveLength(10001);
    expect(sent.k9999).toBe(9999);
    await expectAlive(g);
  });
});

describe("max_request_body_size", () => {
  it("answers 413 over the limit, whether announced by content-length or counted, and decorates at the limit", async () => {
    const g = await start({ ...BASE_CONFIG, max_request_body_size: 64 });
    const msg = "request body is larger than max_request_body_size (64 bytes)";
    const frame = '{"messages":[{"role":"user","content":""}]}';
    const at = `{"messages":[{"role":"user","content":"${"a".repeat(64 - frame.length)}"}]}`;
    const over = `{"messages":[{"role":"user","content":"${"a".repeat(65 - frame.length)}"}]}`;
    expectError(await post(g, over, { "content-length": "65" }), 413, msg);
    expectError(await send(g.url, { path: "/v1/chat/completions", chunks: [over.slice(0, 30), over.slice(30)] }), 413, msg);
    expect((await post(g, at)).status).toBe(200);
    expect(up.received).toHaveLength(1);
  });

  it("has no limit of its own at 0", async () => {
    const g = await start({ ...BASE_CONFIG, max_request_body_size: 0 }, { bufferLimit: 4 << 20 });
    const text = "b".repeat(1_500_000);
    expect((await post(g, JSON.stringify({ messages: [{ role: "user", content: text }] }))).status).toBe(200);
    expect(up.received[0]!.body).toBe(`{"messages":[${PRE_JSON},{"role":"user","content":"${text}"},${APP_JSON}]}`);
  });
});

describe("configuration", () => {
  const c15 = Array.from({ length: 15 }, (_, i) => ({ content: `m${i}` }));
  const refusals: [string, unknown, string][] = [
    ["an empty configuration", "", "prompts is required"],
    ["no prompts", { max_request_body_size: 10 }, "prompts is required"],
    ["prompts not an object", { prompts: [] }, "prompts must be an object"],
    ["neither prepend nor append", { prompts: {} }, "prompts needs at least one message in prepend or append"],
    ["both lists empty", { prompts: { prepend: [], append: [] } }, "prompts needs at least one message in prepend or append"],
    ["a bad role", { prompts: { prepend: [{ content: "a" }, { content: "b" }, { content: "c" }, { role: "tool", content: "d" }] } }, "prompts.prepend[3].role must be one of system, assistant, user"],
    ["a role that is not a string", { prompts: { append: [{ role: 1, content: "a" }] } }, "prompts.append[0].role must be a string"],
    ["a message without content", { prompts: { append: [{ role: "user" }] } }, "prompts.append[0].content is required"],
    ["empty content", { prompts: { prepend: [{ content: "" }] } }, "prompts.prepend[0].content must be 1 to 100000 characters long (it has 0)"],
    ["content over 100000 characters", { prompts: { prepend: [{ content: "é".repeat(100001) }] } }, "prompts.prepend[0].content must be 1 to 100000 characters long (it has 100001)"],
    ["16 messages", { prompts: { append: [...c15, { content: "x" }] } }, "prompts.append has 16 messages; at most 15 are allowed"],
    ["a message that is not an object", { prompts: { prepend: ["be nice"] } }, "prompts.prepend[0] must be an object"],
    ["prepend not an array", { prompts: { prepend: { content: "x" } } }, "prompts.prepend must be an array"],
    ["an unknown message field", { prompts: { prepend: [{ content: "x", name: "n" }] } }, "prompts.prepend[0].name is not a known field"],
    ["an unknown prompts field", { prompts: { prepend: [{ content: "x" }], middle: [] } }, "prompts.middle is not a known field"],
    ["an unknown top-level field", { ...BASE_CONFIG, max_body: 1 }, "max_body is not a known field"],
    ["a negative body size", { ...BASE_CONFIG, max_request_body_size: -5 }, "max_request_body_size must be a non-negative integer"],
    ["another llm_format", { ...BASE_CONFIG, llm_format: "gemini" }, "llm_format must be openai"],
  ];

  it.each(refusals)("refuses %s at load, naming the field", async (_name, config, message) => {
    await expect(start(config)).rejects.toThrow(message);
  });

  it("accepts 15 messages per list, 100000 characters (astral ones counted once), Kong's defaults and nulls", async () => {
    const long = "😀".repeat(100000);
    const g = await start({ prompts: { prepend: c15, append: [{ role: null, content: long }] }, max_request_body_size: 1048576, llm_format: "openai" });
    expect((await post(g, '{"messages":[{"role":"user","content":"q"}]}')).status).toBe(200);
    const sent = JSON.parse(up.received[0]!.body) as { messages: { role: string; content: string }[] };
    expect(sent.messages).toHaveLength(17);
    expect(sent.messages[14]).toEqual({ role: "system", content: "m14" });
    expect(sent.messages[16]).toEqual({ role: "system", content: long });
  });
});

describe("template → decorator, in Kong's order", () => {
  const TEMPLATE = {
    name: "ai-prompt-template",
    code: filter("ai-prompt-template"),
    config: { templates: [{ name: "ask", template: '{"model":"m","messages":[{"role":"user","content":"Tell me about {{thing}}."}]}' }] },
  };

  it("renders the template first, then decorates the rendered messages", async () => {
    const g = await start(BASE_CONFIG, {}, [TEMPLATE]);
    const r = await post(g, JSON.stringify({ messages: "{template://ask}", properties: { thing: 'the "sea"' } }));
    expect(r.status).toBe(200);
    expect(up.received[0]!.body).toBe(`{"model":"m","messages":[${PRE_JSON},{"role":"user","content":"Tell me about the \\"sea\\"."},${APP_JSON}]}`);
  });

  it("lets a template error stop the chain before the decorator, and passes untemplated chats to it", async () => {
    const g = await start(BASE_CONFIG, {}, [TEMPLATE]);
    expectError(await post(g, JSON.stringify({ messages: "{template://ask}" })), 400, "missing template parameters: [thing]");
    expect(up.received).toHaveLength(0);
    expect((await post(g, '{"messages":[{"role":"user","content":"plain"}]}')).status).toBe(200);
    expect(up.received[0]!.body).toBe(`{"messages":[${PRE_JSON},{"role":"user","content":"plain"},${APP_JSON}]}`);
  });
});

describe("the shipped example", () => {
  it("examples/ai-prompt-decorator/envoy.yaml decorates a chat request", async () => {
    const root = resolve(import.meta.dirname, "..");
    const yaml = readFileSync(join(root, "examples/ai-prompt-decorator/envoy.yaml"), "utf8")
      .replace("port_value: 8080", `port_value: ${up.port}`)
      .replace("filename: build/", `filename: ${root}/build/`);
    gw = await startGateway(yaml);
    const url = `http://127.0.0.1:${gw.gw.ports.get("gateway")}`;
    const r = await send(url, { path: "/v1/chat/completions", body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is a widget?"}]}' });
    expect(r.status).toBe(200);
    const sent = JSON.parse(up.received[0]!.body) as { model: string; messages: { role: string; content: string }[] };
    expect(sent.model).toBe("gpt-4o-mini");
    expect(sent.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "system"]);
    expect(sent.messages[3]!.content).toBe("What is a widget?");
  });
});
