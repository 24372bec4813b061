// lib/llm/redact.ts: the masking ai-proxy applies to every byte it returns or logs (issue 11).
// Each occurrence of a secret (or its JSON-escaped forms) becomes '*' of the same length; a
// streamed body holds back only a tail that could start a secret, so a secret split at any
// byte, in any number of pieces, is still masked and the total length never changes.
import { beforeAll, describe, expect, it } from "vitest";
import { buildModules, Lab } from "./ai-proxy-providers-support.ts";

const KEY = "sk-proj-AbC/123\"xyz";
let lab: Lab;
beforeAll(() => {
  buildModules();
  lab = new Lab();
}, 300_000);

const stars = (s: string) => "*".repeat(Buffer.byteLength(s));

describe("whole bodies", () => {
  it("masks the key and its JSON-escaped forms, same length", () => {
    lab.redactWith([KEY]);
    const escaped = JSON.stringify(KEY).slice(1, -1); // sk-proj-AbC/123\"xyz
    const slashed = escaped.replace("/", "\\/");
    const body = `a ${KEY} b ${escaped} c ${slashed} d`;
    expect(lab.redactWhole(body)).toBe(`a ${stars(KEY)} b ${stars(escaped)} c ${stars(slashed)} d`);
  });

  it("leaves other text alone, and ignores secrets under 4 bytes", () => {
    lab.redactWith(["abc", "token-1234"]);
    expect(lab.redactWhole("abc token-123 token-1234")).toBe("abc token-123 **********");
  });

  it("masks several secrets and repeated occurrences", () => {
    lab.redactWith(["Bearer sk-one-1111", "sk-one-1111", "vault-two-2222"]);
    expect(lab.redactWhole("Bearer sk-one-1111|sk-one-1111|vault-two-2222vault-two-2222")).toBe(
      `${stars("Bearer sk-one-1111")}|${stars("sk-one-1111")}|${stars("vault-two-2222")}${stars("vault-two-2222")}`,
    );
  });
});

describe("streams", () => {
  const body = `data: {"error":{"message":"Incorrect API key provided: ${KEY}, ${KEY}."}}\n\nkey at the end ${KEY}`;
  const masked = body.split(KEY).join(stars(KEY));

  it("masks a key split at every byte position into two chunks", () => {
    lab.redactWith([KEY]);
    const b = Buffer.from(body);
    for (let cut = 0; cut <= b.length; cut++) {
      const { out } = lab.redactStream([b.subarray(0, cut), b.subarray(cut)]);
      expect(Buffer.concat(out).toString(), `cut at ${cut}`).toBe(masked);
    }
  });

  it("masks a key sent one byte per chunk, holding back at most key length − 1 bytes", () => {
    lab.redactWith([KEY]);
    const b = Buffer.from(body);
    const { out, held } = lab.redactStream([...b].map((x) => Uint8Array.of(x)));
    expect(Buffer.concat(out).toString()).toBe(masked);
    expect(Math.max(...held)).toBeLessThanOrEqual(Buffer.byteLength(KEY) + 2 - 1); // the longest pattern is the escaped form
    expect(held.at(-1)).toBe(0);
  });

  it("holds nothing back when a chunk's end cannot start a key (SSE frames end in a blank line)", () => {
    lab.redactWith([KEY]);
    const { out, held } = lab.redactStream(["data: {}\n\n", "data: [DONE]\n\n"]);
    expect(held).toEqual([0, 0]);
    expect(out.map(String)).toEqual(["data: {}\n\n", "data: [DONE]\n\n"]);
  });
});
