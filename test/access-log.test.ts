// Envoy's access log formatter: the default text format, typed json_format, FILTER_STATE of wasm
// set_property values, missing values, format errors, and the file sink.

import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessLogConfig } from "../host/envoy/bootstrap-types.ts";
import { HeaderMap } from "../host/http/header-map.ts";
import { createAccessLogSink, formatAccessLog, type AccessLogRecord } from "../host/gateway/access-log.ts";

function record(over: Partial<AccessLogRecord> = {}): AccessLogRecord {
  return {
    startTime: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 67)),
    requestHeaders: new HeaderMap([
      [":method", "POST"],
      [":path", "/v1/chat/completions"],
      [":authority", "gw.local:10000"],
      ["user-agent", "curl/8.0"],
      ["x-request-id", "rid-1"],
      ["x-forwarded-for", "10.0.0.1"],
    ]),
    responseHeaders: new HeaderMap([
      [":status", "200"],
      ["x-envoy-upstream-service-time", "12"],
    ]),
    responseTrailers: null,
    protocol: "HTTP/1.1",
    responseCode: 200,
    responseCodeDetails: "via_upstream",
    responseFlags: "",
    bytesReceived: 120,
    bytesSent: 345,
    durationMs: 15.7,
    upstreamHost: "127.0.0.1:8080",
    upstreamCluster: "openai",
    routeName: "chat",
    downstreamRemoteAddress: "127.0.0.1:5555",
    filterState: new Map([["wasm.ai.log", new TextEncoder().encode('{"model":"gpt-4o","tokens":7}')]]),
    ...over,
  };
}

const text = (textFormat: string | null): AccessLogConfig => ({ path: "/dev/stdout", jsonFormat: null, textFormat });
const json = (jsonFormat: Record<string, string>): AccessLogConfig => ({ path: "/dev/stdout", jsonFormat, textFormat: null });

describe("text format", () => {
  it("uses Envoy's default format string", () => {
    expect(formatAccessLog(text(null), record())).toBe(
      '[2025-01-02T03:04:05.067Z] "POST /v1/chat/completions HTTP/1.1" 200 - 120 345 15 12 "10.0.0.1" "curl/8.0" "rid-1" "gw.local:10000" "127.0.0.1:8080"\n',
    );
  });

  it("prints - for missing values, prefers X-ENVOY-ORIGINAL-PATH, and joins flags", () => {
    const rec = record({
      requestHeaders: new HeaderMap([[":method", "GET"], [":path", "/rewritten"], ["x-envoy-original-path", "/original"]]),
      responseHeaders: null,
      responseCode: null,
      responseCodeDetails: "",
      responseFlags: "UF,URX",
      upstreamHost: null,
    });
    expect(formatAccessLog(text(null), rec)).toBe('[2025-01-02T03:04:05.067Z] "GET /original HTTP/1.1" 0 UF,URX 120 345 15 - "-" "-" "-" "-" "-"\n');
  });

  it("supports the other operators, truncation, START_TIME formats and %%", () => {
    const f = text(
      "%ROUTE_NAME% %UPSTREAM_CLUSTER% %RESPONSE_CODE_DETAILS% %DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% " +
        "%REQ(USER-AGENT):4% %DYNAMIC_METADATA(ns:key)% %START_TIME(%Y/%m/%d %H:%M:%S.%3f %s)% 100%%",
    );
    expect(formatAccessLog(f, record())).toBe("chat openai via_upstream 127.0.0.1:5555 127.0.0.1 curl - 2025/01/02 03:04:05.067 1735787045 100%");
  });

  it("prints FILTER_STATE as Envoy's typed form by default and raw with :PLAIN", () => {
    const f = text("%FILTER_STATE(wasm.ai.log)% | %FILTER_STATE(wasm.ai.log:PLAIN)% | %FILTER_STATE(wasm.none:PLAIN)%");
    const b64 = Buffer.from('{"model":"gpt-4o","tokens":7}').toString("base64");
    expect(formatAccessLog(f, record())).toBe(
      `{"@type":"type.googleapis.com/google.protobuf.BytesValue","value":"${b64}"} | {"model":"gpt-4o","tokens":7} | -`,
    );
  });

  it("rejects unknown operators and stray % at config time", () => {
    expect(() => formatAccessLog(text("%NOT_AN_OPERATOR%"), record())).toThrow(/NOT_AN_OPERATOR/);
    expect(() => formatAccessLog(text("50% off"), record())).toThrow(/position 2/);
    expect(() => formatAccessLog(text("%FILTER_STATE(k:WRONG)%"), record())).toThrow(/FILTER_STATE/);
    expect(() => createAccessLogSink(text("%REQ()%"))).toThrow(/REQ/);
  });
});

describe("json_format", () => {
  it("keeps operator types, nulls missing values, sorts keys and ends the line", () => {
    const f = json({
      status: "%RESPONSE_CODE%",
      bytes_sent: "%BYTES_SENT%",
      duration: "%DURATION%",
      method: "%REQ(:METHOD)%",
      missing: "%REQ(X-NOPE)%",
      flags: "%RESPONSE_FLAGS%",
      mixed: "code=%RESPONSE_CODE% miss=%REQ(X-NOPE)%",
      start: "%START_TIME%",
      literal: "plain text",
    });
    const line = formatAccessLog(f, record());
    expect(line.endsWith("\n")).toBe(true);
    expect(line.slice(0, -1)).toBe(
      '{"bytes_sent":345,"duration":15,"flags":"-","literal":"plain text","method":"POST","missing":null,"mixed":"code=200 miss=-","start":"2025-01-02T03:04:05.067Z","status":200}',
    );
  });

  it("renders a wasm filter-state value as a string with :PLAIN and as the typed Any otherwise", () => {
    const f = json({ plain: "%FILTER_STATE(wasm.ai.log:PLAIN)%", typed: "%FILTER_STATE(wasm.ai.log)%", absent: "%FILTER_STATE(wasm.x)%" });
    const parsed = JSON.parse(formatAccessLog(f, record())) as Record<string, unknown>;
    expect(parsed.plain).toBe('{"model":"gpt-4o","tokens":7}');
    expect(parsed.typed).toEqual({ "@type": "type.googleapis.com/google.protobuf.BytesValue", value: Buffer.from('{"model":"gpt-4o","tokens":7}').toString("base64") });
    expect(parsed.absent).toBeNull();
  });

  it("nests objects and keeps non-string literals", () => {
    const cfg = { path: "/dev/stdout", textFormat: null, jsonFormat: { z: { b: "%UPSTREAM_HOST%", a: "%ROUTE_NAME%" }, n: 1, t: true } } as unknown as AccessLogConfig;
    expect(formatAccessLog(cfg, record({ routeName: "" }))).toBe('{"n":1,"t":true,"z":{"a":null,"b":"127.0.0.1:8080"}}\n');
  });
});

describe("createAccessLogSink", () => {
  it("appends lines to a file path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aigw-log-"));
    try {
      const path = join(dir, "access.log");
      const cfg: AccessLogConfig = { path, jsonFormat: { code: "%RESPONSE_CODE%" }, textFormat: null };
      const first = createAccessLogSink(cfg);
      first(formatAccessLog(cfg, record()));
      await first.close();
      const second = createAccessLogSink(cfg);
      second(formatAccessLog(cfg, record({ responseCode: 503 })));
      await second.close();
      expect(readFileSync(path, "utf8")).toBe('{"code":200}\n{"code":503}\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("REQ_WITHOUT_QUERY (envoy.formatter.req_without_query)", () => {
  // Envoy: source/extensions/formatter/req_without_query/req_without_query.cc: REQ's header
  // lookup (main?alternative, first value), then Http::Utility::stripQueryString (cut at the
  // first '?'), then MAXLEN. The operator exists only when log_format.formatters lists the
  // extension (config.cc registers it as a CommandParserFactory).
  const withExt = (f: string): AccessLogConfig => ({ path: "/dev/stdout", jsonFormat: null, textFormat: f, commands: ["REQ_WITHOUT_QUERY"] });

  it("prints the path without its query, prefers X-ENVOY-ORIGINAL-PATH, truncates after stripping", () => {
    const rec = record({ requestHeaders: new HeaderMap([[":path", "/v1beta/models/g:generateContent?alt=sse&key=AIzaSECRET"]]) });
    expect(formatAccessLog(withExt("%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)%"), rec)).toBe("/v1beta/models/g:generateContent");
    expect(formatAccessLog(withExt("%REQ_WITHOUT_QUERY(:PATH):8%"), rec)).toBe("/v1beta/");
    const orig = record({ requestHeaders: new HeaderMap([[":path", "/new?key=s"], ["x-envoy-original-path", "/old?key=t"]]) });
    expect(formatAccessLog(withExt("%REQ_WITHOUT_QUERY(X-ENVOY-ORIGINAL-PATH?:PATH)% %REQ_WITHOUT_QUERY(X-NONE)%"), orig)).toBe("/old -");
  });

  it("is refused without the formatter extension, as Envoy refuses an unknown command", () => {
    expect(() => formatAccessLog(text("%REQ_WITHOUT_QUERY(:PATH)%"), record())).toThrow(/REQ_WITHOUT_QUERY.*req_without_query/);
  });

  it("the shipped envoy.yaml logs no query, so a query credential never reaches its access log (issue 11)", async () => {
    const { parseBootstrap } = await import("../host/envoy/bootstrap.ts");
    const file = join(import.meta.dirname, "../envoy/envoy.yaml");
    const b = parseBootstrap(readFileSync(file, "utf8"), file);
    const logs = b.listeners.flatMap((l) => l.hcm.accessLogs);
    expect(logs.length).toBeGreaterThan(0);
    const rec = record({ requestHeaders: new HeaderMap([[":method", "POST"], [":path", "/v1beta/models/gemini-2.0-flash:generateContent?key=AIzaSySECRETKEY123"]]) });
    for (const cfg of logs) {
      const line = formatAccessLog(cfg, rec);
      expect(line).toContain("/v1beta/models/gemini-2.0-flash:generateContent");
      expect(line).not.toContain("SECRETKEY");
    }
  });
});
