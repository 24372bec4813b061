// ai-proxy's response headers are read in one walk (lib/llm/route/response-heads.ts): the
// status, content type, length and encoding, a credential in any value, and which removals and
// replacements would change nothing (those are skipped). The headers-check test filter reads
// each map through the walk and without it (direct host calls, decoded pairs), masking
// credentials as ai-proxy does, and logs an error when the reads differ or when a skip the walk
// allows is not exactly what the map shows. These are the maps the walk must get right.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager, type DecoderFilterCallbacks, type DownstreamSink, type HttpFilter } from "../host/http/filter-manager.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { HeadersStatus } from "../host/abi/enums.ts";
import { testRuntime } from "./support/runtime.ts";
import { testFilter } from "./support/gateway.ts";
import { pluginConfig } from "./support/plugin-config.ts";

const ROOT = resolve(import.meta.dirname, "..");
/** The values each header is compared with (is, and "replacing by it would change nothing"). */
const VALUES = ["application/json", "text/event-stream", "no-cache", "openai/gpt-4o", "200", "", "é", "aé"];

beforeAll(() => {
  execFileSync(process.execPath, [resolve(ROOT, "scripts/build.mjs"), "headers-check"], { cwd: ROOT, stdio: "pipe" });
}, 120_000);

/** Sends `response` back as soon as the request headers arrive. */
class Answer implements HttpFilter {
  private cb!: DecoderFilterCallbacks;
  constructor(private readonly response: [string, string][]) {}
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }
  decodeHeaders(): HeadersStatus {
    this.cb.encodeHeaders(new HeaderMap(this.response), true);
    return HeadersStatus.StopIteration;
  }
  decodeData = undefined as never;
  decodeTrailers = undefined as never;
}

const sink: DownstreamSink = { encodeHeaders() {}, encodeData() {}, encodeTrailers() {}, reset() {}, readDisable() {} };

/** The walk's reads and skips for `response` ("reads | skips | the map's truth"), after checking nothing differed. */
async function heads(response: [string, string][], secrets: string[] = []): Promise<string> {
  const { runtime, logs } = testRuntime();
  try {
    const config = pluginConfig(testFilter("headers-check"), { name: "headers-check", rootId: "", vmId: "headers-check", config: JSON.stringify({ secrets, heads: VALUES }) });
    const fm = new FilterManager(new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 }), sink, 1 << 20);
    fm.addFilter((await runtime.loadPlugin(config)).createStreamContext(0));
    fm.addFilter(new Answer(response));
    fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/"]]), true);
    expect(logs.filter((l) => l.level >= 3).map((l) => l.message)).toEqual([]);
    const line = logs.map((l) => /^headers-check heads ([^]*)$/.exec(l.message)).find((m) => m);
    if (!line) throw new Error("no heads line logged");
    return line[1]!;
  } finally {
    runtime.close();
  }
}

/** The skips part: per header, "a" (removing changes nothing) then one "s" per VALUES entry it is alone with. */
function skips(line: string): { got: string; want: string } {
  const [, got, want] = line.split(" | ");
  return { got: (got ?? "").trim(), want: (want ?? "").trim() };
}

describe("the walk answers as the view does, and skips only what would change nothing", () => {
  const maps: [string, [string, string][], string[]][] = [
    ["the usual answer", [[":status", "200"], ["content-type", "application/json"]], []],
    [
      "repeated headers, every header read, the model header already there",
      [
        [":status", "200"],
        ["content-type", "application/json"],
        ["content-type", "application/json"],
        ["content-length", "42"],
        ["set-cookie", "a=1"],
        ["set-cookie", "b=2"],
        ["cache-control", "no-cache"],
        ["content-encoding", "identity"],
        ["x-ai-gateway-llm-model", "openai/gpt-4o"],
      ],
      [],
    ],
    ["mixed-case names, a stream, a second model header", [[":status", "200"], ["Content-Type", "text/event-stream"], ["Cache-Control", "no-cache, private"], ["x-ai-gateway-llm-model", "openai/gpt-4o"], ["X-AI-Gateway-LLM-Model", "x"]], []],
    ["non-ASCII and empty values", [[":status", "200"], ["content-type", "é"], ["cache-control", ""], ["content-encoding", "gzip é"]], []],
    ["values as long as a non-ASCII one, matching it up to it or not", [[":status", "200"], ["content-type", "ab"], ["cache-control", "xy"], ["content-encoding", "aé"], ["set-cookie", "aé"]], []],
    ["names one byte off, of the same length", [[":status", "201"], ["content-typf", "application/json"], ["content-lengtx", "1"], ["set-cookiE", "x"], ["cache-controm", "no-cache"], [":statuz", "200"]], []],
    ["an error status", [[":status", "404"], ["content-type", "text/html"], ["content-length", "0"]], []],
    ["statuses that are not three digits", [[":status", "2000"], ["content-type", "application/json"]], []],
    ["a short status", [[":status", "20"]], []],
    ["a status that is not a number", [[":status", "abc"]], []],
    ["a non-ASCII status", [[":status", "٢٠٠"]], []],
    ["a credential in a value (raw and JSON-escaped): masked, then the view answers", [[":status", "200"], ["content-type", "application/json"], ["x-echo", "key sk-secret-1"], ["content-length", "7"], ["x-echo2", 'a\\"sk-secret-1']], ["sk-secret-1"]],
    ["a credential in a header read by the walk", [[":status", "200"], ["content-type", "application/json; sk-secret-1"], ["set-cookie", "s=sk-secret-1"]], ["sk-secret-1"]],
    ["secrets configured, none present", [[":status", "200"], ["content-type", "application/json"], ["x-echo", "sk-secre"]], ["sk-secret-1"]],
  ];
  it.each(maps)("%s", async (_name, response, secrets) => {
    const line = await heads(response, secrets);
    const { got, want } = skips(line);
    // Sound: every skip is borne out by the map. Complete for ASCII values: the walk never
    // skips a replacement by a non-ASCII value (the view decides those).
    const exempt = (i: number) => /[^\x00-\x7f]/.test(VALUES[(i % (VALUES.length + 2)) - 1] ?? "");
    const wantIfAscii = [...want].map((c, i) => (exempt(i) ? "-" : c)).join("");
    expect(got).toBe(wantIfAscii);
  });

  it("the usual answer reads as expected and skips the content type it already has", async () => {
    const line = await heads([[":status", "200"], ["content-type", "application/json"]]);
    expect(line.split(" | ")[0]).toBe("status=200 [200]nnnnynnn [application/json]ynnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn");
    expect(skips(line).got).toBe("-----s--- -s------- a-------- a-------- a-------- a-------- a--------");
  });

  it("after a credential is masked, nothing is skipped by the walk and reads see the masked map", async () => {
    const line = await heads([[":status", "200"], ["content-type", "application/json; sk-secret-1"]], ["sk-secret-1"]);
    expect(line).toBe("status=200 [200]nnnnynnn [application/json; ***********]nnnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn [(null)]nnnnnnnn | ");
  });
});
