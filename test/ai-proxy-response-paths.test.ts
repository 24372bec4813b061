// ai-proxy's response path (issue 17): the shortcuts taken on every answer give what the
// general code gives.
// - Secrets' scan looks closer only where a pattern's first byte is: compared with a naive
//   masking (every position, every pattern, in place) on tricky and seeded random bodies.
// - Secrets#maskString answers a repeated string (a route's model name) from its last result:
//   the same as masking it anew, and a secret added since is not missed.
// - The OpenAI-format answer's top-level members are told by length and first byte, and the
//   model name is reused when the bytes name the last one: compared with a reading of the raw
//   members in JS (last duplicate wins, raw key bytes) on tricky and seeded random answers.
import { beforeAll, describe, expect, it } from "vitest";
import { buildModules, Lab } from "./ai-proxy-providers-support.ts";

/** A seeded generator (an LCG's high bits), so a failure replays. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

let lab: Lab;
beforeAll(() => {
  buildModules();
  lab = new Lab();
}, 300_000);

// ---------------------------------------------------------------- masking

/** lib/llm/redact.ts secretForms: the secret, JSON-escaped, and JSON-escaped with `\/`. */
function forms(s: string): string[] {
  let json = "";
  let slash = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const e = c === 0x22 ? '\\"' : c === 0x5c ? "\\\\" : c < 0x20 ? "\\u00" + (c < 0x10 ? "0" : "") + c.toString(16) : s[i]!;
    json += e;
    slash += c === 0x2f ? "\\/" : e;
  }
  return [s, json, slash];
}

/** The patterns in the order Secrets adds them: each form of each secret, 4 bytes or more, once. */
function patterns(secrets: string[]): Buffer[] {
  const out: Buffer[] = [];
  for (const s of secrets)
    for (const f of forms(s)) {
      const b = Buffer.from(f);
      if (b.length >= 4 && !out.some((p) => p.equals(b))) out.push(b);
    }
  return out;
}

/** Naive masking: at every position, every pattern in turn, compared with the bytes as masked so far. */
function naiveMask(body: string, secrets: string[]): string {
  const b = Buffer.from(body);
  const pats = patterns(secrets);
  for (let i = 0; i < b.length; i++)
    for (const p of pats) if (i + p.length <= b.length && b.subarray(i, i + p.length).equals(p)) b.fill(0x2a, i, i + p.length);
  return b.toString();
}

describe("Secrets' scan against naive masking", () => {
  const cases: [string[], string[]][] = [
    // Secrets sharing first bytes, prefixes of each other, overlapping and adjacent occurrences.
    [["abab", "abcab"], ["ababab", "abcabcab", "abab abcab", "aabcabab", "ab", "", "abababcababcab"]],
    [["Bearer sk-bench", "sk-bench"], ["Bearer sk-bench", "xBearer sk-bench sk-bench", "sk-bencsk-bench", "Bearer sk-benc", "ssssk-bench"]],
    [['sk-"q\\/x', "sk-q"], ['a sk-"q\\/x b', 'sk-\\"q\\\\\\/x', 'sk-\\"q\\\\/x', "sk-qsk-q"]],
    [["clé-secrète", "ключ-1234"], ["une clé-secrète ici", "ключ-1234ключ-1234", "clé-secrètclé-secrète"]],
    [["aaaa"], ["aaaaaaaaa", "aaa", "baaaab"]],
  ];
  it.each(cases)("masks %j as naive masking does", (secrets, bodies) => {
    lab.redactWith(secrets);
    for (const body of bodies) expect(lab.redactWhole(body), body).toBe(naiveMask(body, secrets));
  });

  it("agrees on seeded random bodies over a small alphabet (many near misses)", () => {
    const r = rng(17);
    const alphabet = ["a", "b", "c", "B", "e", "r", " ", '"', "\\", "/", "s", "k", "-", "é", "*"];
    const pick = (n: number) => Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]).join("");
    for (let round = 0; round < 60; round++) {
      const secrets = Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(4 + Math.floor(r() * 6)));
      lab.redactWith(secrets);
      for (let k = 0; k < 25; k++) {
        const parts: string[] = [];
        for (let j = 0; j < 8; j++) parts.push(r() < 0.3 ? secrets[Math.floor(r() * secrets.length)]! : pick(Math.floor(r() * 12)));
        const body = parts.join("");
        expect(lab.redactWhole(body), JSON.stringify({ secrets, body })).toBe(naiveMask(body, secrets));
        expect(lab.redactString(body), JSON.stringify({ secrets, body })).toBe(naiveMask(body, secrets));
      }
    }
  });

  it("masks a string longer than maskString's scratch buffer as a short one", () => {
    lab.redactWith(["sk-long-1234"]);
    const body = "x".repeat(5000) + "sk-long-1234" + "y".repeat(10) + "sk-long-1234";
    expect(lab.redactString(body)).toBe(naiveMask(body, ["sk-long-1234"]));
  });
});

describe("maskString's remembered result", () => {
  it("gives the same answer for the same string again, and for another string its own", () => {
    lab.redactWith(["sk-model-1234"]);
    expect(lab.redactString("gpt-sk-model-1234")).toBe("gpt-*************");
    expect(lab.redactString(null)).toBe("gpt-*************");
    expect(lab.redactString("gpt-4o")).toBe("gpt-4o");
    expect(lab.redactString(null)).toBe("gpt-4o");
  });

  it("does not miss a secret added after the string was masked", () => {
    lab.redactWith(["sk-first-1111"]);
    expect(lab.redactString("m sk-first-1111 sk-second-2222")).toBe("m ************* sk-second-2222");
    lab.redactAlso("sk-second-2222");
    expect(lab.redactString(null)).toBe("m ************* **************");
  });
});

// ---------------------------------------------------------------- OpenAI-format answers

/** Offset just past the JSON string at t[i] (its opening quote). */
function skipString(t: string, i: number): number {
  for (i++; t[i] !== '"'; i++) if (t[i] === "\\") i++;
  return i + 1;
}

function skipSpace(t: string, i: number): number {
  while (i < t.length && " \t\r\n".includes(t[i]!)) i++;
  return i;
}

/** Offset just past the valid JSON value at t[i]. */
function skipValue(t: string, i: number): number {
  if (t[i] === '"') return skipString(t, i);
  if (t[i] === "{" || t[i] === "[") {
    let depth = 0;
    for (;;) {
      const c = t[i]!;
      if (c === '"') {
        i = skipString(t, i);
        continue;
      }
      if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") if (--depth === 0) return i + 1;
      i++;
    }
  }
  while (i < t.length && !",}] \t\r\n".includes(t[i]!)) i++;
  return i;
}

/** The members of the valid JSON object `t` as [raw key (no quotes), raw value], in order. */
function rawMembers(t: string): [string, string][] {
  const out: [string, string][] = [];
  let i = skipSpace(t, 0) + 1;
  for (;;) {
    i = skipSpace(t, i);
    if (t[i] === "}") return out;
    if (t[i] === ",") i = skipSpace(t, i + 1);
    const ke = skipString(t, i);
    const key = t.slice(i + 1, ke - 1);
    i = skipSpace(t, skipSpace(t, ke) + 1);
    const ve = skipValue(t, i);
    out.push([key, t.slice(i, ve)]);
    i = ve;
  }
}

const last = (ms: [string, string][], key: string) => ms.filter(([k]) => k === key).at(-1)?.[1];

/** What translateResponse answers for a chat, read from the raw members. */
function expected(body: string): { ok: boolean; text: string; usage?: number[]; model?: string } {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    v = undefined;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false, text: "transformation failed from type openai://llm/v1/chat: response is not a JSON object" };
  const ms = rawMembers(body);
  if (!last(ms, "choices")?.startsWith("[")) return { ok: false, text: "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat response" };
  const usage = [-1, -1, -1];
  const u = last(ms, "usage");
  if (u?.startsWith("{")) {
    const um = rawMembers(u);
    const count = (key: string) => {
      const x = last(um, key);
      const n = x !== undefined && /^[-0-9]/.test(x) ? Number(x) : NaN;
      return !Number.isFinite(n) || n < 0 || n > 2 ** 31 ? -1 : Math.trunc(n);
    };
    usage[0] = count("prompt_tokens");
    usage[1] = count("completion_tokens");
    usage[2] = count("total_tokens");
    if (usage[2] < 0 && (usage[0] >= 0 || usage[1] >= 0)) usage[2] = Math.max(usage[0], 0) + Math.max(usage[1], 0);
  }
  const m = last(ms, "model");
  return { ok: true, text: body, usage, model: m?.startsWith('"') ? (JSON.parse(m) as string) : "" };
}

function check(body: string): void {
  const got = lab.response(body);
  const want = expected(body);
  expect({ ok: got.ok, text: got.text }, body).toEqual({ ok: want.ok, text: want.text });
  if (!want.ok) return;
  const st = lab.responseState();
  expect({ usage: st.usage, model: st.model }, body).toEqual({ usage: want.usage, model: want.model });
}

describe("an OpenAI-format answer, read against its raw members", () => {
  beforeAll(() => {
    expect(lab.configure("llm/v1/chat", { provider: "openai", name: "gpt-4o" }).ok).toBe(true);
    expect(lab.request({ messages: [{ role: "user", content: "hi" }] }).ok).toBe(true);
  });

  const CHOICES = '[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]';
  const tricky = [
    `{"id":"x","choices":${CHOICES},"model":"gpt-4o","usage":{"prompt_tokens":25,"completion_tokens":9,"total_tokens":34}}`,
    // Duplicates: the last one wins, whatever its kind.
    `{"choices":${CHOICES},"choices":{}}`,
    `{"choices":{},"choices":${CHOICES},"model":"a","model":7,"usage":{"prompt_tokens":1},"usage":"none"}`,
    `{"choices":${CHOICES},"model":7,"model":"b","usage":{"prompt_tokens":1,"prompt_tokens":"2","completion_tokens":3}}`,
    // Escaped key names are other names (raw key bytes, as before).
    `{"choi\\u0063es":${CHOICES}}`,
    `{"choices":${CHOICES},"mod\\u0065l":"x","usag\\u0065":{"prompt_tokens":5}}`,
    `{"choices":${CHOICES},"usage":{"prompt\\u005ftokens":5,"completion_tokens":2}}`,
    // Same length and first letter as a member read, or a prefix of one.
    `{"created":1,"cost":2,"modal":"m","dat":[],"datum":[],"error":null,"errors":1,"usag":{},"choices ":[],"choice":[],"choices":${CHOICES}}`,
    `{"model_":"x","model":"gpt-5","models":"y","choices":${CHOICES}}`,
    // Members read only at the top level.
    `{"x":{"choices":${CHOICES},"model":"inner"}}`,
    `{"x":{"model":"inner","usage":{"prompt_tokens":3}},"choices":${CHOICES}}`,
    // Models: escapes, unicode, empty, repeated (the last name is reused only when the bytes match).
    `{"choices":${CHOICES},"model":"gpt-4o"}`,
    `{"choices":${CHOICES},"model":"gpt-4o"}`,
    `{"choices":${CHOICES},"model":"gpt-\\u0034o"}`,
    `{"choices":${CHOICES},"model":"gpt-4o-mini"}`,
    `{"choices":${CHOICES},"model":"gpt-4"}`,
    `{"choices":${CHOICES},"model":""}`,
    `{"choices":${CHOICES},"model":"é-model"}`,
    `{"choices":${CHOICES},"model":"\\u00e9-model"}`,
    `{"choices":${CHOICES},"model":"a\\"b\\\\c\\/d"}`,
    `{"choices":${CHOICES},"model":"a\\"b\\\\c/d"}`,
    `{"choices":${CHOICES},"model":"𝔘-\\ud835\\udd18"}`,
    // Token counts: floats, out of range, negative, not numbers.
    `{"choices":${CHOICES},"usage":{"prompt_tokens":2.9,"completion_tokens":1e3,"total_tokens":-1}}`,
    `{"choices":${CHOICES},"usage":{"prompt_tokens":2147483649,"completion_tokens":null,"total_tokens":true}}`,
    `{"choices":${CHOICES},"usage":{}}`,
    ` \n{ "choices" : ${CHOICES} , "usage" : { "prompt_tokens" : 4 } , "model" : "spaced" } \n`,
    // Not an object, or not JSON.
    `[${CHOICES}]`,
    `"choices"`,
    `{"choices":${CHOICES}`,
    `{"choices":${CHOICES}}x`,
    `{"choices":${CHOICES},}`,
    `{"choices":[1,]}`,
    "",
  ];
  it.each(tricky.map((b) => [b]))("%s", (body) => check(body));

  it("agrees on seeded random answers", () => {
    const r = rng(1717);
    const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
    const names = ["choices", "usage", "model", "data", "error", "created", "cost", "modal", "id", "object", "choi\\u0063es", "model ", "usage2", "errors", "dat"];
    const models = ['"gpt-4o"', '"gpt-4o"', '"gpt-\\u0034o"', '"gpt-4o-mini"', '""', '"é"', '"\\u00e9"', "null", "3"];
    const usageNames = ["prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokenz", "total\\u005ftokens"];
    const number = () => pick(["0", "7", "25", "2.5", "-3", "1e2", "2147483648", "2147483649", '"9"', "null", "12345678901234567"]);
    const value = (name: string): string => {
      if (name === "choices" || name === "data") return pick([CHOICES, "[]", "{}", '"x"', "null"]);
      if (name === "model") return pick(models);
      if (name === "usage") {
        const n = Math.floor(r() * 5);
        return pick(["{" + Array.from({ length: n }, () => `"${pick(usageNames)}":${number()}`).join(",") + "}", "[]", "null"]);
      }
      return pick(['"s"', "1", "{}", `{"model":"inner","choices":[]}`, "[1,2]", "true"]);
    };
    for (let k = 0; k < 400; k++) {
      const n = 1 + Math.floor(r() * 7);
      const members = Array.from({ length: n }, () => {
        const name = pick(names);
        return `"${name}":${value(name)}`;
      });
      check(`{${members.join(r() < 0.2 ? " , " : ",")}}`);
    }
  });
});
