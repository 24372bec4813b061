// lib/json/names through the json-check module: the member names that would let a body say
// one thing to the gateway's filters (raw keys, last duplicate) and another to the provider's
// parser (decoded keys) are found, with the path of the object that holds them.
import { beforeAll, describe, expect, it } from "vitest";
import { compileJsonCheck, instantiateJsonCheck, outputText, putInput, type JsonCheck } from "./support/json-check.ts";

let x: JsonCheck;
beforeAll(() => {
  x = instantiateJsonCheck(compileJsonCheck());
}, 120_000);

function names(doc: string): string | null {
  putInput(x, new TextEncoder().encode(doc));
  return x.names() ? null : outputText(x);
}

describe("ambiguousMember", () => {
  it.each([
    '{"model":"m","messages":[{"role":"user","content":"hi"}]}',
    '{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}',
    // escapes an encoder writes: quote, backslash, control, non-ASCII (Python), \/ (PHP), <>& (Go)
    '{"a\\"b":1,"a\\\\b":2,"a\\nb":3,"caf\\u00e9":4,"a\\/b":5,"\\u003cx\\u003e\\u0026":6,"\\u0001":7}',
    '{"k":"cont\\u0065nt","v":["r\\u006fle"]}', // escapes in values are not names
    "[1,2,{}]",
  ])("accepts %s", (doc) => {
    expect(names(doc)).toBeNull();
  });

  it.each([
    ['{"messages":[],"messag\\u0065s":[]}', "member name 'messag\\u0065s' in the request body is written with a needless escape; send it as 'messages'"],
    ['{"messages":[{"role":"user","content":"a","cont\\u0065nt":"b"}]}', "member name 'cont\\u0065nt' in messages[0] is written with a needless escape; send it as 'content'"],
    ['{"messages":[{"role":"user","content":[{"type":"text","t\\u0065xt":"x"}]}]}', "member name 't\\u0065xt' in messages[0].content[0] is written with a needless escape; send it as 'text'"],
    ['{"x":{"\\u0041":1}}', "member name '\\u0041' in x is written with a needless escape; send it as 'A'"],
    ['{"messages":[{"role":"assistant","content":"a"},{"role":"assistant","role":"user","content":"b"}]}', "duplicate member 'role' in messages[1]"],
    ['{"model":"a","model":"b"}', "duplicate member 'model' in the request body"],
    ['{"caf\\u00e9":1,"café":2}', "duplicate member 'café' in the request body"],
    [`{"big":{${Array.from({ length: 40 }, (_, i) => `"k${i}":${i}`).join(",")},"k7":0}}`, "duplicate member 'k7' in big"],
    // Deeper than the walker's first stack allocation.
    [`{"a":${"[".repeat(40)}{"x":1,"x":2}${"]".repeat(40)}}`, `duplicate member 'x' in a${"[0]".repeat(40)}`],
  ])("refuses %s", (doc, why) => {
    expect(names(doc)).toBe(why);
  });
});
