// ai-prompt-guard's prompt extraction, read straight from the body's bytes, against the json-as
// reading it replaced (test/filters/guard-check/tree.ts): the same status, the same reason and
// byte-identical text on tricky bodies (escapes, surrogates, unicode, data: URLs, roles spelled
// with escapes, content shapes, duplicates, nesting, invalid JSON) and on seeded random chats.
import { beforeAll, describe, expect, it } from "vitest";
import { loadGuardCheck, output, putInput, type GuardCheck } from "./support/guard-check.ts";

let x: GuardCheck;
beforeAll(() => {
  x = loadGuardCheck();
});

const enc = new TextEncoder();
const MODES: [number, number][] = [
  [0, 0],
  [1, 0],
  [0, 1],
];

/**
 * `body` with every `\/` escape written as `/`. json-as decodes `\/` to a NUL character (the
 * provider reads `/`), so the json-as reading saw `https:\/\/evil` as other text than the model
 * gets: the reference reads the body with the escape resolved, which is what the fast path does.
 */
function unslash(body: Uint8Array): Uint8Array {
  const s = Buffer.from(body).toString("latin1");
  if (!s.includes("\\/")) return body;
  return Buffer.from(s.replace(/\\(u[0-9a-fA-F]{4}|[^])/g, (m, e: string) => (e === "/" ? "/" : m)), "latin1");
}

/** Both readings of `body` in every mode; returns the fast one's results. */
function agree(body: string | Uint8Array): { status: number; out: string }[] {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  const reference = unslash(bytes);
  const got: { status: number; out: string }[] = [];
  for (const [roles, latest] of MODES) {
    const want = x.extractTree(putInput(x, reference), roles, latest);
    const n = putInput(x, bytes);
    const wantOut = Buffer.from(output(x));
    // The filter's slow path (no one-walk scan, messages walked on their own) gives the same.
    const slowStatus = x.extractSlow(n, roles, latest);
    const slowOut = Buffer.from(output(x));
    const status = x.extract(n, roles, latest);
    const out = Buffer.from(output(x));
    const ctx = `${Buffer.from(bytes).toString("latin1")} (match_all_roles ${roles}, latest only ${latest})`;
    expect(status, ctx).toBe(want);
    expect(out.toString("hex"), ctx).toBe(wantOut.toString("hex"));
    expect(slowStatus, ctx).toBe(status);
    expect(slowOut.toString("hex"), ctx).toBe(out.toString("hex"));
    got.push({ status, out: out.toString("utf8") });
  }
  return got;
}

const chat = (...messages: unknown[]) => JSON.stringify({ model: "m", messages });
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("the byte-level extraction gives what the json-as reading gave", () => {
  it("reads escapes, surrogates and raw unicode as the same UTF-8", () => {
    const strings = [
      String.raw`plain`,
      String.raw`q \" b \\ s \/ n \n t \t r \r b \b f \f`,
      String.raw`\u00e9\u200b\u20ac\u0000\u001f\u007f`,
      String.raw`pair \ud83d\ude00 end`,
      String.raw`upper pair \uD83D\uDE00`,
      String.raw`lone high \ud800 then text`,
      String.raw`lone high at end \udbff`,
      String.raw`lone low \udc00 x`,
      String.raw`high then escape \ud800\u0041`,
      String.raw`high high low \ud800\ud83d\ude00`,
      String.raw`high then raw pair \ud800😀`,
      "raw é ✓ 😀 \u200b",
      String.raw`\\u0041 is not an escape`,
      String.raw`ends with backslash \\`,
      "",
    ];
    for (const s of strings) {
      agree(`{"messages":[{"role":"user","content":"${s}"}]}`);
      agree(`{"prompt":"${s}","suffix":"${s}"}`);
    }
    expect(agree(`{"messages":[{"role":"user","content":"x\\ud83d\\ude00"}]}`)[0]!.out).toBe("x😀 ");
    // Escapes at every offset of the word-at-a-time copy, in runs of every length around 8.
    for (let at = 0; at < 18; at++) {
      for (const esc of ["\\\\", "\\\"", "\\u00e9", "\\n"]) {
        const s = "abcdefghijklmnopqrstuvwxyz".slice(0, at) + esc + "0123456789ABCDEFGHIJ".slice(0, (at * 7) % 19);
        agree(`{"prompt":"${s}"}`);
        agree(`{"prompt":"${s}${esc}${s}"}`);
      }
    }
    // What the provider reads for \/ (json-as read a NUL character there).
    expect(agree(String.raw`{"prompt":"https:\/\/evil.example"}`)[0]!.out).toBe("https://evil.example");
  });

  it("decodes text data: URLs and skips binary ones, however they are spelled", () => {
    const urls = [
      `data:text/plain;base64,${b64("secret text")}`,
      `data:TEXT/PLAIN;BASE64,${b64("upper")}`,
      `data:application/json;base64,${b64('{"a":1}')}`,
      `data:application/ld+json;base64,${b64("ld")}`,
      `data:;base64,${b64("no type")}`,
      `data:image/png;base64,${b64("\x89PNG")}`,
      `data:text/plain,not base64`,
      "data:",
      "data:x",
      "data:text/plain;base64,",
      "data:no comma at all",
      "Data:text/plain;base64,aGk=",
      "xdata:text/plain;base64,aGk=",
    ];
    for (const u of urls) {
      agree(chat({ role: "user", content: u }));
      agree(chat({ role: "user", content: [{ type: "image_url", image_url: { url: u, detail: "low" } }] }));
    }
    // The same URLs with escapes in their first bytes.
    agree(String.raw`{"messages":[{"role":"user","content":"\u0064ata:text/plain;base64,aGk="}]}`);
    agree(String.raw`{"messages":[{"role":"user","content":"dat\u0061:image/png;base64,aGk="}]}`);
    agree(String.raw`{"messages":[{"role":"user","content":"data:text\/plain;base64,aGk="}]}`);
    agree(String.raw`{"messages":[{"role":"user","content":"data:te\u212Axt/plain;base64,aGk="}]}`);
  });

  it("takes roles as decoded, and reads every content shape alike", () => {
    const bodies = [
      String.raw`{"messages":[{"role":"us\u0065r","content":"escaped role"}]}`,
      String.raw`{"messages":[{"role":"USER","content":"upper role"},{"role":"user","content":"x"}]}`,
      String.raw`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}]}`,
      String.raw`{"messages":[{"role":"assist\u0061nt","content":null}]}`,
      String.raw`{"messages":[{"role":"user","content":null}]}`,
      String.raw`{"messages":[{"role":"user"}]}`,
      String.raw`{"messages":[{"role":"user","content":5}]}`,
      String.raw`{"messages":[{"role":"user","content":{"text":"obj"}}]}`,
      String.raw`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"input_text","input_text":"b"},{"type":"image_url","image_url":{"url":"https://x/y.png","text":"c"}}]}]}`,
      String.raw`{"messages":[{"role":"user","content":[{"text":"untyped"}]}]}`,
      String.raw`{"messages":[{"role":"user","content":[{"type":5,"text":"bad type"}]}]}`,
      String.raw`{"messages":[{"role":"user","content":["not an object"]}]}`,
      String.raw`{"messages":[{"role":"user","content":[]}]}`,
      String.raw`{"messages":[{"role":"user","name":"bob","content":"hi","refusal":"no","id":"skip","extra":{"type":"skip","deep":["a",{"b":"c"}],"n":1,"t":true}}]}`,
      String.raw`{"messages":[{"content":"no role first","role":"user","name":"after"}]}`,
      String.raw`{"messages":[{"role":5,"content":"x"}]}`,
      String.raw`{"messages":[{"content":"x"}]}`,
      String.raw`{"messages":[5,{"role":"user","content":"newest"}]}`,
      String.raw`{"messages":[{"role":"user","content":"a"},"str"]}`,
      String.raw`{"messages":[]}`,
      String.raw`{"messages":{}}`,
      String.raw`{"messages":"x"}`,
      String.raw`{"messages":null,"prompt":"completion"}`,
      String.raw`{"prompt":["a","b\n"],"suffix":"s"}`,
      String.raw`{"prompt":["a",5]}`,
      String.raw`{"prompt":5}`,
      String.raw`{"prompt":null}`,
      String.raw`{"suffix":"only"}`,
      String.raw`{"model":"m"}`,
      String.raw`{}`,
      String.raw` { "messages" : [ { "role" : "user" , "content" : "spaced" } , { "role" : "system" , "content" : "sys" } ] } `,
      String.raw`{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u1"},{"role":"assistant","content":"a"},{"role":"user","content":"u2"},{"role":"tool","content":"t","tool_call_id":"x"}]}`,
    ];
    for (const b of bodies) agree(b);
  });

  it("refuses the same bodies with the same reasons", () => {
    const bodies = [
      "",
      "   ",
      "{oops",
      "[1,2]",
      '"a string"',
      "42",
      '{"messages":[{"role":"user","content":"x"}],}',
      '{"messages":[{"role":"user","role":"user","content":"x"}]}',
      '{"messages":[{"role":"user","content":"x"}],"messages":[]}',
      String.raw`{"messages":[{"r\u006fle":"user","content":"x"}]}`,
      '{"messages":[{"role":"user","content":"tab\there"}]}',
      '{"a":' + "[".repeat(70) + "]".repeat(70) + "}",
      '{"messages":[{"role":"user","content":"\\x"}]}',
    ];
    for (const b of bodies) agree(b);
    agree(new Uint8Array([0x7b, 0x22, 0x70, 0x72, 0x6f, 0x6d, 0x70, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])); // invalid UTF-8
    agree(new Uint8Array([0x7b, 0x22, 0x70, 0x72, 0x6f, 0x6d, 0x70, 0x74, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])); // an encoded surrogate
  });

  it("agrees on seeded random chats", () => {
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) >>> 8) / (1 << 23);
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const pieces = ["a", "é", "😀", '"', "\\", "\n", "\u200b", "\u0000", "/", "data:", "text/plain;base64,aGk=", " ", "x".repeat(20)];
    const str = () => Array.from({ length: Math.floor(rnd() * 6) }, () => pick(pieces)).join("");
    const value = (d: number): unknown => {
      const k = rnd();
      if (d > 2 || k < 0.5) return pick([str(), str(), 1, true, null]);
      if (k < 0.75) return Array.from({ length: Math.floor(rnd() * 3) }, () => value(d + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(rnd() * 3) }, (_, i) => [pick(["text", "type", "id", "name", "url", "k" + i]), value(d + 1)]));
    };
    for (let n = 0; n < 300; n++) {
      const messages = Array.from({ length: Math.floor(rnd() * 5) }, () => {
        const m: Record<string, unknown> = { role: pick(["user", "user", "assistant", "system", "tool"]) };
        const c = rnd();
        m.content = c < 0.5 ? str() : c < 0.8 ? [{ type: "text", text: str() }, { type: "image_url", image_url: { url: pick(["https://x", "data:text/plain;base64," + b64(str()), "data:image/png;base64,AAAA"]) } }] : c < 0.9 ? null : value(1);
        if (rnd() < 0.3) m.name = str();
        if (rnd() < 0.2) m.tool_calls = [{ id: "c", type: "function", function: { name: str(), arguments: JSON.stringify({ q: str() }) } }];
        return m;
      });
      // JSON.stringify writes non-ASCII raw: half the bodies get it escaped instead.
      let body = JSON.stringify({ model: "m", messages });
      if (n % 2) body = body.replace(/[\u007f-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
      agree(body);
    }
  });
});
