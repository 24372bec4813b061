// validateRequest's one-walk path (lib/llm/route/request-scan.ts) against its slow path (three
// walks: validateJsonMembers, ambiguousMember, each message) on the same bodies, through the
// llm-providers test module (no host). Whatever the walk accepts must come out byte for byte as
// the slow path has it: the same request fields, top-level spans and upstream body; whatever it
// refuses goes to the slow path, which must give the same error as before.
import { beforeAll, describe, expect, it } from "vitest";
import { buildModules, Lab } from "./ai-proxy-providers-support.ts";

let lab: Lab;
beforeAll(() => {
  buildModules();
  lab = new Lab();
}, 300_000);

function configure(c: Record<string, unknown>): void {
  lab.configureProxy(c);
}

/** Both paths on `body`: whether the walk accepted it, and each path's outcome. */
function both(body: Uint8Array | string): { accepted: boolean; fast: string; slow: string } {
  const fast = lab.checkRequest(body, true);
  const slow = lab.checkRequest(body, false);
  // Wherever a body was translated, the span path gave the member path's bytes.
  for (const t of [fast.text, slow.text]) {
    const o = JSON.parse(t) as { translate_agrees?: boolean };
    if (o.translate_agrees !== undefined) expect(o.translate_agrees, t).toBe(true);
  }
  return { accepted: fast.accepted, fast: fast.text, slow: slow.text };
}

const chat = { route_type: "llm/v1/chat", auth: { header_name: "Authorization", header_value: "Bearer k" }, model: { provider: "openai", name: "" } };

const msg = (role: string, content: unknown) => ({ role, content });
const plain = (extra: Record<string, unknown> = {}) => JSON.stringify({ model: "gpt-4o-mini", messages: [msg("system", "be brief"), msg("user", 'say "hi" \\ \n ünïcödé 😀')], ...extra });

// Bodies the walk takes: the result must be the slow path's, and the walk must have been used.
const accepted: [string, string][] = [
  ["a plain chat", plain()],
  ["whitespace everywhere", ' \n{ "model" : "m" ,\t"messages" : [ { "role" : "user" , "content" : "x" } ] }\r\n'],
  ["tuning members", plain({ stream: true, stream_options: { include_usage: false, x: 1 }, max_tokens: 5, temperature: 0.5, top_p: 1e-1, top_k: 3 })],
  ["an api_key member", plain({ api_key: "sk-client" })],
  ["content parts", JSON.stringify({ model: "m", messages: [msg("user", [{ type: "text", text: "a" }, { type: "image_url", image_url: { url: "data:x" } }])] })],
  ["an assistant with tool calls only", JSON.stringify({ model: "m", messages: [msg("user", "q"), { role: "assistant", content: null, tool_calls: [{ id: "1", type: "function", function: { name: "f", arguments: "{}" } }] }, { role: "tool", tool_call_id: "1", content: "r" }] })],
  ["escapes in values", JSON.stringify({ model: "m\u00e9", messages: [msg("user", "\u0000\u001f\"\\/\b\f\n\r\t\u2028\ud83d\ude00")], x: ["\\u0041"] })],
  ["a role written with an escape", '{"model":"m","messages":[{"role":"us\\u0065r","content":"x"}]}'],
  ["nested objects and arrays", JSON.stringify({ model: "m", messages: [msg("user", "x")], tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: { a: { type: "array", items: { type: "number" } } } } } }], metadata: {}, n: [], z: [[[]], {}] })],
  ["sixteen members", JSON.stringify({ model: "m", messages: [msg("user", "x")], ...Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`k${i}`, i])) })],
  ["numbers", '{"model":"m","messages":[{"role":"user","content":"x"}],"a":-0,"b":1.5e+10,"c":0.0,"d":-12E-3,"e":[true,false,null]}'],
  ["same names in different objects", '{"model":"m","messages":[{"role":"user","content":"x","name":"a"},{"role":"user","content":"y","name":"a"}],"name":"a"}'],
];

// Bodies the walk leaves to the slow path (an error, or something it does not handle).
const declined: [string, string][] = [
  ["not JSON", "{model:"],
  ["empty", ""],
  ["an array", "[1,2]"],
  ["a trailing comma", '{"model":"m","messages":[{"role":"user","content":"x"},]}'],
  ["a trailing comma in an object", '{"model":"m","messages":[{"role":"user","content":"x"}],}'],
  ["garbage after the body", plain() + "x"],
  ["a second value", plain() + "{}"],
  ["a missing colon", '{"model" "m"}'],
  ["a leading zero", '{"model":"m","messages":[{"role":"user","content":"x"}],"n":01}'],
  ["a bare minus", '{"model":"m","messages":[{"role":"user","content":"x"}],"n":-}'],
  ["a truncated literal", '{"model":"m","messages":[{"role":"user","content":"x"}],"s":tru}'],
  ["a bad literal", '{"model":"m","messages":[{"role":"user","content":"x"}],"s":nul1}'],
  ["an unescaped control character", '{"model":"m","messages":[{"role":"user","content":"a\tb"}]}'],
  ["a bad escape", '{"model":"m","messages":[{"role":"user","content":"a\\x"}]}'],
  ["a short unicode escape", '{"model":"m","messages":[{"role":"user","content":"a\\u12"}]}'],
  ["an unterminated string", '{"model":"m","messages":[{"role":"user","content":"abc'],
  ["an unclosed object", '{"model":"m","messages":[{"role":"user","content":"x"}]'],
  ["a mismatched close", '{"model":"m","messages":[{"role":"user","content":"x"}}'],
  ["a duplicate top member", '{"model":"a","model":"b","messages":[{"role":"user","content":"x"}]}'],
  ["a duplicate role", '{"model":"m","messages":[{"role":"assistant","role":"user","content":"x"}]}'],
  ["a duplicate deep down", '{"model":"m","messages":[{"role":"user","content":"x"}],"t":{"a":[{"k":1,"k":2}]}}'],
  ["a needless escape in a name", '{"model":"m","messages":[{"role":"user","cont\\u0065nt":"x"}]}'],
  ["an escape an encoder writes in a name", '{"model":"m","messages":[{"role":"user","content":"x"}],"caf\\u00e9":1}'],
  ["a decoded duplicate", '{"model":"m","messages":[{"role":"user","content":"x"}],"caf\\u00e9":1,"café":2}'],
  ["seventeen members", JSON.stringify({ model: "m", messages: [msg("user", "x")], ...Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`k${i}`, i])) })],
  ["many members with a duplicate", `{"model":"m","messages":[{"role":"user","content":"x"}],${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(",")},"k7":0}`],
  ["empty messages", '{"model":"m","messages":[]}'],
  ["a message that is a string", '{"model":"m","messages":["hi"]}'],
  ["a message that is an array", '{"model":"m","messages":[["hi"]]}'],
  ["a second message that is a number", '{"model":"m","messages":[{"role":"user","content":"x"},5]}'],
  ["no role", '{"model":"m","messages":[{"content":"x"}]}'],
  ["an unknown role", '{"model":"m","messages":[{"role":"robot","content":"x"}]}'],
  ["a role that is not a string", '{"model":"m","messages":[{"role":1,"content":"x"}]}'],
  ["a tool message without its id", '{"model":"m","messages":[{"role":"tool","content":"x"}]}'],
  ["a user message without content", '{"model":"m","messages":[{"role":"user"}]}'],
  ["a user message with null content", '{"model":"m","messages":[{"role":"user","content":null}]}'],
  ["content that is a number", '{"model":"m","messages":[{"role":"user","content":5}]}'],
  ["content that is an object", '{"model":"m","messages":[{"role":"user","content":{"text":"x"}}]}'],
  ["a part that is a string", '{"model":"m","messages":[{"role":"user","content":["x"]}]}'],
  ["a part without type", '{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}'],
  ["a text part without text", '{"model":"m","messages":[{"role":"user","content":[{"type":"text"}]}]}'],
  ["a text part with a number", '{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}'],
  ["invalid UTF-8", Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]).toString("latin1")],
  ["deep nesting", `{"model":"m","messages":[{"role":"user","content":"x"}],"d":${"[".repeat(70)}${"]".repeat(70)}}`],
];

// Bodies the walk takes whose error comes from validateRequest's own checks after it.
const refusedAfter: [string, string][] = [
  ["no messages", '{"model":"m"}'],
  ["messages not an array", '{"model":"m","messages":{"role":"user"}}'],
  ["another model than the configured one", plain({ model: "other" })],
  ["a stream flag that is not a boolean", plain({ stream: 1 })],
  ["max_tokens below 1", plain({ max_tokens: 0 })],
];

describe("validateRequest: the one walk and the slow path agree", () => {
  beforeAll(() => configure(chat));

  it.each(accepted)("takes %s, with the slow path's result", (_name, body) => {
    const r = both(body);
    expect(r.fast).toBe(r.slow);
    expect(JSON.parse(r.fast).body).toBeDefined();
    expect(JSON.parse(r.fast).no_client_key_agrees).toBe(true);
    expect(r.accepted).toBe(true);
  });

  it.each(declined)("leaves %s to the slow path", (_name, body) => {
    const b = _name === "invalid UTF-8" ? Buffer.from(body, "latin1") : body;
    const r = both(b);
    expect(r.fast).toBe(r.slow);
    expect(r.accepted).toBe(false);
  });

  it.each(refusedAfter)("refuses %s as the slow path does", (_name, body) => {
    configure({ ...chat, model: { provider: "openai", name: "gpt-4o-mini" } });
    const r = both(body);
    configure(chat);
    expect(r.fast).toBe(r.slow);
    expect(JSON.parse(r.fast).status).toBe(400);
  });

  it("reads every role, near-roles and names at the very end of the body alike", () => {
    const roles = ["system", "developer", "user", "assistant", "tool", "function", "users", "use", "assistanT", "developex", "assistant ", "Function", "us\\u0065r", "t\\u006fol", "\\u0073ystem"];
    for (const role of roles) {
      for (const body of [
        `{"model":"m","messages":[{"role":"${role}","content":"x","tool_call_id":"1"}]}`,
        `{"model":"m","messages":[{"content":"x","tool_call_id":"1","role":"${role}"}]}`,
        `{"messages":[{"tool_call_id":"1","content":"x","role":"${role}"}],"model":"m"}`,
      ]) {
        const r = both(body);
        expect(r.fast, body).toBe(r.slow);
      }
    }
    for (const body of ['{"model":"m","messages":[{"content":"x","role":"user"}]}', '{"model":"m","messages":[{"role":"user","content":[{"text":"x","type":"text"}]}]}', '{"model":"m","messages":[{"role":"user","text":1,"content":"x"}]}']) {
      const r = both(body);
      expect(r.fast).toBe(r.slow);
      expect(r.accepted).toBe(true);
    }
  });

  it("nests as deep as the validator allows, and no deeper", () => {
    const at = (n: number) => `{"model":"m","messages":[{"role":"user","content":"x"}],"d":${"[".repeat(n)}${"]".repeat(n)}}`;
    for (const n of [62, 63, 64]) {
      const r = both(at(n));
      expect(r.fast).toBe(r.slow);
    }
    expect(both(at(62)).accepted).toBe(true);
    expect(JSON.parse(both(at(64)).slow).message).toContain("nesting deeper than 64");
  });

  it("agrees on other routes", () => {
    for (const route of ["llm/v1/completions", "llm/v1/embeddings"]) {
      configure({ ...chat, route_type: route });
      for (const body of ['{"model":"m","prompt":"x"}', '{"model":"m","input":["a","b"]}', '{"model":"m","prompt":"x","messages":[{"role":"user","content":"y"}]}', '{"model":"m","prompt":"x","messages":[5]}', plain()]) {
        const r = both(body);
        expect(r.fast).toBe(r.slow);
      }
    }
    configure(chat);
  });

  it("agrees on random corruptions of a chat body (byte flips, cuts, insertions)", () => {
    // A fixed-seed generator: the same cases on every run.
    let seed = 17;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    const base = Buffer.from(JSON.stringify({ model: "m", messages: [msg("system", "s"), msg("user", [{ type: "text", text: 'a "q" \\ é' }]), { role: "tool", tool_call_id: "1", content: "r" }], stream: false, stream_options: { include_usage: true }, n: -1.5e3, t: [null, true] }));
    const alphabet = Buffer.from('{}[]:,"\\ \t\nu0aeEtfn-+.19\u00e9');
    let acceptedCount = 0;
    for (let k = 0; k < 3000; k++) {
      const b = Buffer.from(base);
      let c: Buffer = b;
      const op = rnd(3);
      const i = rnd(b.length);
      if (op === 0) b[i] = alphabet[rnd(alphabet.length)]!;
      else if (op === 1) c = Buffer.concat([b.subarray(0, i), b.subarray(i + 1 + rnd(4))]);
      else c = Buffer.concat([b.subarray(0, i), alphabet.subarray(rnd(alphabet.length)).subarray(0, 1 + rnd(2)), b.subarray(i)]);
      const r = both(c);
      if (r.fast !== r.slow) expect({ body: c.toString("latin1"), fast: r.fast }).toEqual({ body: c.toString("latin1"), fast: r.slow });
      if (r.accepted) acceptedCount++;
    }
    // Many corruptions stay valid (a changed letter in a string): the walk took those.
    expect(acceptedCount).toBeGreaterThan(100);
  });
});

// OpenAI-format translation (openai-format.ts): translateSpans reads the validator's spans and
// must write what translateMembers (decoded members through a JsonWriter) writes, byte for byte.
// both() checks translate_agrees on every body; these bodies aim at what the span path decides
// on the raw bytes: names, duplicates it must not see, renames, stream_options, defaults.
describe("translateRequest: the span path and the member path agree", () => {
  const bodies = [
    plain(),
    ' \n{ "model" : "m" ,\t"messages" : [ { "role" : "user" , "content" : "x" } ] , "top_k" : 3 , "seed" : 1 }\r\n',
    plain({ stream: true }),
    plain({ stream: true, stream_options: { include_usage: false, x: 1 } }),
    plain({ stream: true, stream_options: { x: { include_usage: 1 }, "incl\u0075de_usage": 2 } }),
    plain({ stream: true, stream_options: {} }),
    plain({ stream: false, stream_options: { include_usage: true } }),
    '{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":null}',
    plain({ max_completion_tokens: 5, seed: 3, random_seed: 4, store: true, top_k: 2, temperature: 0, top_p: 1 }),
    plain({ max_completion_tokens: 5, max_tokens: 6 }),
    plain({ api_key: "sk-client", x: "api_key" }),
    plain({ "api_key ": 1, apikey: 2 }),
    // Names with escapes: the member path (decoded names); the span path must decline them.
    '{"model":"m","messages":[{"role":"user","content":"x"}],"api\\u005fkey":"sk","str\\u0065am":true}',
    '{"mod\\u0065l":"m","messages":[{"role":"user","content":"x"}]}',
    // Non-ASCII names and values, and the model from the body with escapes.
    JSON.stringify({ messages: [msg("user", "ünï 😀")], "café": "é", "日本": [1, { "k": "v" }] }),
    '{"model":"m\\"\\u00e9\\ud83d\\ude00","messages":[{"role":"user","content":"x"}]}',
    JSON.stringify({ messages: [msg("user", "x")] }),
    JSON.stringify({ messages: [msg("user", "x")], model: "m", n: 1.50, big: 1e400 }).replace("1.5", "1.50"),
  ];
  const configs: [string, Record<string, unknown>][] = [
    ["openai, the model from the body", chat],
    ["openai, a configured model", { ...chat, model: { provider: "openai", name: "gpt-4o-mini" } }],
    ["openai, options that fill absent fields", { ...chat, model: { provider: "openai", name: "", options: { max_tokens: 7, temperature: 0.25, top_p: 0.5, top_k: 4 } } }],
    ["openai, streaming always", { ...chat, response_streaming: "always" }],
    ["mistral (renames, more dropped, no stream_options)", { ...chat, model: { provider: "mistral", name: "", options: { mistral_format: "openai", max_tokens: 9 } } }],
    ["azure", { ...chat, model: { provider: "azure", name: "", options: { azure_instance: "i", azure_deployment_id: "d", azure_api_version: "2024-10-21" } } }],
    ["openai embeddings", { ...chat, route_type: "llm/v1/embeddings" }],
    ["openai completions", { ...chat, route_type: "llm/v1/completions" }],
  ];
  it.each(configs)("%s", (_name, c) => {
    configure(c);
    let translated = 0;
    const route = (c as { route_type: string }).route_type;
    for (const chatBody of bodies) {
      let body = chatBody;
      if (route !== "llm/v1/chat") {
        const o = JSON.parse(chatBody.replace(/\\u005f|\\u0065/g, "")) as Record<string, unknown>;
        delete o.messages;
        o[route === "llm/v1/embeddings" ? "input" : "prompt"] = "x";
        body = JSON.stringify(o);
      }
      const r = both(body);
      expect(r.fast, body).toBe(r.slow);
      if (JSON.parse(r.fast).translate_agrees !== undefined) translated++;
    }
    configure(chat);
    expect(translated).toBeGreaterThan(bodies.length / 2);
  });
});

// withoutMember (json-scan.ts) first walks the body without member objects or key strings and
// returns it untouched when no top-level name decodes to api_key; it must agree with the member
// list it shortcuts, on names with escapes, duplicates, nesting and bodies that are not objects.
describe("withoutMember: the one walk agrees with the member list", () => {
  const bodies: [string, string, string][] = [
    // [name, body, expected output]
    ["no such member", '{"a":1,"b":{"api_key":2}}', '{"a":1,"b":{"api_key":2}}'],
    ["the member", '{"a":1,"api_key":"sk","b":[1]}', '{"a":1,"b":[1]}'],
    ["the member with whitespace", ' { "api_key" : "sk" , "a" : 1 } ', '{"a":1}'],
    ["the name written with escapes", '{"api\\u005fkey":"sk","a":1}', '{"a":1}'],
    ["an escape that decodes to another name", '{"api\\u005fkez":"sk","a":1}', '{"api\\u005fkez":"sk","a":1}'],
    ["an escaped quote in a same-length name", '{"api_ke\\"":1}', '{"api_ke\\"":1}'],
    ["a non-ASCII name of the same length", '{"api_kéy":1,"api_ké":2}', '{"api_kéy":1,"api_ké":2}'],
    ["duplicates", '{"api_key":"a","x":1,"api_key":"b"}', '{"x":1}'],
    ["a prefix and a longer name", '{"api_ke":1,"api_keys":2}', '{"api_ke":1,"api_keys":2}'],
    ["malformed after the member (no colon)", '{"api_key":"sk","a"}', '{"api_key":"sk","a"}'],
    ["unterminated after the member", '{"api_key":"sk","a":1', '{"api_key":"sk","a":1'],
    ["not an object", '["api_key"]', '["api_key"]'],
    ["empty object", "{}", "{}"],
    ["empty", "", ""],
  ];
  it.each(bodies)("%s", (_name, body, expected) => {
    const r = lab.withoutMember(body);
    expect(r.agrees).toBe(true);
    expect(r.body).toBe(expected);
  });
});
