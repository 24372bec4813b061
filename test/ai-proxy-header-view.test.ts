// ai-proxy's header view (lib/llm/route/headers.ts) reads a header map once, as the bytes
// get_header_map_pairs serialised, and skips the changes that would change nothing. The
// headers-check test filter runs the same script of reads and changes through that snapshot,
// through direct host calls and through decoded pairs on the same map, and logs an error when
// the answers or the resulting maps differ. These scripts are the cases the snapshot must get
// right: repeated and mixed-case names, non-ASCII values, a header read after the filter
// changed it, a replacement by the value already there, a secret in a value.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager, type DownstreamSink } from "../host/http/filter-manager.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { testRuntime } from "./support/runtime.ts";
import { testFilter } from "./support/gateway.ts";
import { AnsweringUpstream } from "./support/answering-upstream.ts";

const ROOT = resolve(import.meta.dirname, "..");

type Op = { op: "get" | "remove"; name: string } | { op: "replace" | "is" | "holds"; name: string; value: string } | { op: "removeEach"; value: string } | { op: "redact" };

const sink: DownstreamSink = { encodeHeaders() {}, encodeData() {}, encodeTrailers() {}, reset() {}, readDisable() {} };

beforeAll(() => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "headers-check"], { cwd: ROOT, stdio: "pipe" });
}, 120_000);

/** Runs the scripts; returns the snapshot's "reads | map" per side, after checking nothing differed. */
async function check(request: [string, string][], response: [string, string][], ops: { request?: Op[]; response?: Op[] }, secrets: string[] = []): Promise<Record<string, string>> {
  return (await checkStreams([{ request, response }], ops, secrets))[0]!;
}

/** check() for several streams in turn on one VM (its kept memory carried from one to the next). */
async function checkStreams(streams: { request: [string, string][]; response: [string, string][] }[], ops: { request?: Op[]; response?: Op[] }, secrets: string[] = []): Promise<Record<string, string>[]> {
  const { runtime, logs } = testRuntime();
  try {
    const plugin = await runtime.loadPlugin({
      name: "headers-check",
      rootId: "",
      vmId: "headers-check",
      runtime: "envoy.wasm.runtime.v8",
      configuration: Buffer.from(JSON.stringify({ secrets, ...ops })),
      vmConfiguration: new Uint8Array(0),
      codeFile: testFilter("headers-check"),
      environment: {},
      failOpen: false,
      allowOnHeadersStopIteration: false,
    });
    const outs: Record<string, string>[] = [];
    for (const { request, response } of streams) {
      logs.length = 0;
      const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), sink, 1 << 20);
      fm.addFilter(plugin.createStreamContext(0));
      fm.addFilter(new AnsweringUpstream({ headers: response }));
      fm.decodeHeaders(null, new HeaderMap(request), true);
      expect(logs.filter((l) => l.level >= 3).map((l) => l.message)).toEqual([]);
      const out: Record<string, string> = {};
      for (const l of logs) {
        const m = /^headers-check (request|response) ([^]*)$/.exec(l.message);
        if (m) out[m[1]!] = m[2]!;
      }
      outs.push(out);
    }
    return outs;
  } finally {
    runtime.close();
  }
}

const REQUEST: [string, string][] = [
  [":method", "POST"],
  [":path", "/v1/chat/completions?api-key=x"],
  [":authority", "gw"],
  ["content-type", "application/json"],
  ["content-length", "12"],
  ["x-dup", "one"],
  ["x-dup", "two"],
  ["x-utf", "café ☕ 😀"],
  ["authorization", "Bearer client"],
];

describe("the header snapshot answers and changes as direct host calls do", () => {
  it("reads: first of repeated names, mixed-case names, absent names, non-ASCII values", async () => {
    const r = await check(REQUEST, [], { request: ["X-Dup", "x-dup", ":PATH", "x-utf", "X-UTF", "absent", "content-typ", "content-type-x", "authorization"].map((name) => ({ op: "get", name }) as Op) });
    expect(r.request).toMatch(/^\[one\]\[one\]\[\/v1\/chat\/completions\?api-key=x\]\[café ☕ 😀\]\[café ☕ 😀\]\[\(null\)\]\[\(null\)\]\[\(null\)\]\[Bearer client\] \| /);
  });

  it("changes: removals of absent and repeated names, replacements by the same value, by another value, of repeated names", async () => {
    const ops: Op[] = [
      { op: "remove", name: "accept-encoding" },
      { op: "remove", name: "X-Api-Key" },
      { op: "replace", name: "content-type", value: "application/json" },
      { op: "replace", name: "Content-Length", value: "12" },
      { op: "replace", name: "x-dup", value: "one" }, // the same first value, but a second entry to drop
      { op: "replace", name: "x-utf", value: "café ☕ 😀" },
      { op: "replace", name: "x-utf2", value: "é" },
      { op: "remove", name: "Authorization" },
      { op: "replace", name: ":authority", value: "api.openai.com" },
    ];
    const r = await check(REQUEST, [], { request: ops });
    expect(r.request).toBe(" | :method: POST\n:path: /v1/chat/completions?api-key=x\n:authority: api.openai.com\ncontent-type: application/json\ncontent-length: 12\nx-dup: one\nx-utf: café ☕ 😀\nx-utf2: é");
  });

  it("a header the filter changed is read, removed and replaced as it now is", async () => {
    const ops: Op[] = [
      { op: "replace", name: "accept-encoding", value: "gzip" },
      { op: "get", name: "accept-encoding" },
      { op: "remove", name: "accept-encoding" },
      { op: "get", name: "Accept-Encoding" },
      { op: "remove", name: "content-length" },
      { op: "replace", name: "content-length", value: "12" },
      { op: "get", name: "content-length" },
      { op: "replace", name: "content-length", value: "12" },
      { op: "remove", name: "x-dup" },
      { op: "get", name: "x-dup" },
      { op: "replace", name: "x-dup", value: "three" },
      { op: "get", name: "x-dup" },
    ];
    const r = await check(REQUEST, [], { request: ops });
    expect(r.request).toBe("[gzip][(null)][12][(null)][three] | :method: POST\n:path: /v1/chat/completions?api-key=x\n:authority: gw\ncontent-type: application/json\nx-utf: café ☕ 😀\nauthorization: Bearer client\ncontent-length: 12\nx-dup: three");
  });

  it("response: a secret in any value (raw, JSON-escaped) is masked, and reads after it see the masked map", async () => {
    const response: [string, string][] = [
      [":status", "200"],
      ["content-type", "application/json"],
      ["x-echo", "key sk-secret-1 seen"],
      ["x-echo2", 'a\\"sk-secret-1'],
      ["x-other", "fine"],
    ];
    const ops: Op[] = [{ op: "get", name: ":status" }, { op: "redact" }, { op: "get", name: "x-echo" }, { op: "remove", name: "content-length" }, { op: "replace", name: "content-type", value: "application/json" }, { op: "get", name: "x-other" }];
    const r = await check([[":method", "GET"], [":path", "/"]], response, { response: ops }, ["sk-secret-1"]);
    expect(r.response).toBe("[200][key *********** seen][fine] | :status: 200\ncontent-type: application/json\nx-echo: key *********** seen\nx-echo2: a\\\"***********\nx-other: fine");
  });

  it("response: no secret anywhere leaves the map alone", async () => {
    const response: [string, string][] = [
      [":status", "502"],
      ["x-echo", "sk-secre"],
      ["content-length", "3"],
    ];
    const ops: Op[] = [{ op: "redact" }, { op: "get", name: "x-echo" }, { op: "remove", name: "content-length" }, { op: "replace", name: "content-type", value: "application/json" }, { op: "get", name: "content-type" }];
    const r = await check([[":method", "GET"], [":path", "/"]], response, { response: ops }, ["sk-secret-1"]);
    expect(r.response).toBe("[sk-secre][application/json] | :status: 502\nx-echo: sk-secre\ncontent-type: application/json");
  });

  it("is: compares the first value, before and after a change", async () => {
    const ops: Op[] = [
      { op: "is", name: ":Method", value: "POST" },
      { op: "is", name: ":method", value: "GET" },
      { op: "is", name: ":method", value: "POS" },
      { op: "is", name: "x-dup", value: "two" },
      { op: "is", name: "x-dup", value: "one" },
      { op: "is", name: "x-utf", value: "café ☕ 😀" },
      { op: "is", name: "absent", value: "" },
      { op: "replace", name: ":method", value: "GET" },
      { op: "is", name: ":method", value: "GET" },
      { op: "remove", name: "x-dup" },
      { op: "is", name: "x-dup", value: "one" },
    ];
    const r = await check(REQUEST, [], { request: ops });
    expect(r.request!.split(" | ")[0]).toBe("[yes][no][no][no][yes][yes][no][yes][no]");
  });

  it("holds: whether the first value has a character (the :path query test), before and after a change", async () => {
    const ops: Op[] = [
      { op: "holds", name: ":path", value: "?" },
      { op: "holds", name: ":PATH", value: "=" },
      { op: "holds", name: "x-dup", value: "w" }, // only the second entry has it
      { op: "holds", name: "x-dup", value: "o" },
      { op: "holds", name: "x-utf", value: "?" },
      { op: "holds", name: "absent", value: "?" },
      { op: "replace", name: ":path", value: "/v1/chat/completions" },
      { op: "holds", name: ":path", value: "?" },
      { op: "remove", name: "x-dup" },
      { op: "holds", name: "x-dup", value: "o" },
      { op: "replace", name: "x-new", value: "a?b" },
      { op: "holds", name: "x-new", value: "?" },
    ];
    const r = await check(REQUEST, [], { request: ops });
    expect(r.request!.split(" | ")[0]).toBe("[1][1][0][1][0][-1][0][-1][1]");
  });

  it("removeEach: a set of absent names, one present, one the filter added, one of a present name's class", async () => {
    const ops: Op[] = [
      { op: "removeEach", value: "api-key,x-api-key,proxy-authorization" }, // all absent
      { op: "replace", name: "x-api-key", value: "added" },
      { op: "removeEach", value: "api-key,x-api-key" }, // one the filter added
      { op: "get", name: "x-api-key" },
      { op: "removeEach", value: "x-dun,x-duo" }, // the class of x-dup, but absent
      { op: "get", name: "x-dup" },
      { op: "removeEach", value: "x-api-key,authorization" }, // one present in the snapshot
      { op: "get", name: "authorization" },
    ];
    const r = await check(REQUEST, [], { request: ops });
    expect(r.request).toBe("[(null)][one][(null)] | :method: POST\n:path: /v1/chat/completions?api-key=x\n:authority: gw\ncontent-type: application/json\ncontent-length: 12\nx-dup: one\nx-dup: two\nx-utf: café ☕ 😀");
  });

  it("names that share a length and first byte, or a first byte only, and a non-ASCII name", async () => {
    const request: [string, string][] = [
      [":method", "POST"],
      ["x-ab", "1"],
      ["x-aa", "2"],
      ["x-a", "3"],
      ["x-é", "4"],
      ["x-aa", "5"],
    ];
    const ops: Op[] = ["x-aa", "x-ab", "x-a", "x-ac", "x-é", "X-É", "x-e", "x-"].map((name) => ({ op: "get", name }) as Op);
    ops.push({ op: "replace", name: "x-aa", value: "2" }, { op: "remove", name: "x-ac" }, { op: "is", name: "x-é", value: "4" }, { op: "replace", name: "x-é", value: "4" });
    const r = await check(request, [], { request: ops });
    expect(r.request).toBe("[2][1][3][(null)][4][4][(null)][(null)][yes] | :method: POST\nx-ab: 1\nx-aa: 2\nx-a: 3\nx-é: 4");
  });

  it("an empty map", async () => {
    const r = await check([[":method", "GET"]], [], { request: [{ op: "remove", name: ":method" }, { op: "get", name: ":method" }, { op: "remove", name: "x" }, { op: "replace", name: "x", value: "" }, { op: "get", name: "x" }] });
    expect(r.request).toBe("[(null)][] | x: ");
  });
});

// Each side's pairs are read into a region kept across callbacks (lib/abi/headers.ts
// getHeaderPairsLent): a map larger than the region gets a buffer of its own and grows the
// region, and a smaller map read after a larger one must not see the larger one's bytes.
it("maps larger and smaller than the kept region, one stream after another on one VM", async () => {
  const big = (n: number, tag: string): [string, string][] => [...REQUEST, ...Array.from({ length: n }, (_, i): [string, string] => [`x-${tag}-${i}`, `${tag}`.repeat(40)])];
  const sizes = [0, 30, 1, 500, 0, 30];
  const streams = sizes.map((n, k) => ({ request: big(n, `s${k}`), response: [[":status", "200"], ...big(n, `r${k}`).slice(3)] as [string, string][] }));
  const ops: Op[] = [{ op: "get", name: "x-dup" }, { op: "get", name: `x-s1-0` }, { op: "get", name: "x-s3-499" }, { op: "is", name: "x-s5-29", value: "s5".repeat(40) }, { op: "remove", name: "x-utf" }];
  const outs = await checkStreams(streams, { request: ops, response: [{ op: "get", name: "x-dup" }, { op: "get", name: "x-r3-0" }, { op: "redact" }] });
  const reads = outs.map((o) => o.request!.split(" | ")[0]);
  expect(reads).toEqual([
    "[one][(null)][(null)][no]",
    `[one][${"s1".repeat(40)}][(null)][no]`,
    "[one][(null)][(null)][no]",
    `[one][(null)][${"s3".repeat(40)}][no]`,
    "[one][(null)][(null)][no]",
    `[one][(null)][(null)][yes]`,
  ]);
  expect(outs.map((o) => o.response!.split(" | ")[0])).toEqual(["[one][(null)]", "[one][(null)]", "[one][(null)]", `[one][${"r3".repeat(40)}]`, "[one][(null)]", "[one][(null)]"]);
  // The resulting maps are what the direct calls made (checked inside the filter); the last
  // stream's map has its own 30 headers and none of the 500 before it.
  expect(outs[5]!.request!.split("\n").filter((l) => l.startsWith("x-s")).length).toBe(30);
});
