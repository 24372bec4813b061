// Envoy's file access logger with the substitution formatter (source/common/formatter/*):
// command operators in a text format string or a json_format dictionary.
//
// Envoy rules reproduced:
// - Text: a missing value prints "-". The default format is Envoy's default format string.
// - JSON: a missing value is null; a value that is exactly one operator keeps its type (numbers
//   stay numbers, FILTER_STATE typed objects nest); anything else is a string. Properties are
//   always sorted (Envoy ≥ 1.34 sorts, JsonFormatOptions.sort_properties is a no-op). One JSON
//   object per line.
// - "%%" is a literal "%"; any other "%" that does not start a valid operator is a config error.
// - FILTER_STATE(KEY) defaults to TYPED: a wasm set_property value is a CelState whose proto form
//   is Any{BytesValue}, so it prints {"@type":"type.googleapis.com/google.protobuf.BytesValue",
//   "value":"<base64>"}. FILTER_STATE(KEY:PLAIN) prints the raw value as a string (never parsed).
// - RESPONSE_FLAGS prints "-" when there are none, in JSON too; RESPONSE_CODE prints 0 when unset.
// - REQ_WITHOUT_QUERY(X?Y) (source/extensions/formatter/req_without_query/req_without_query.cc)
//   is REQ with everything from the first '?' cut (Http::Utility::stripQueryString), then
//   truncated to MAXLEN. It exists only when log_format.formatters lists
//   envoy.formatter.req_without_query (a CommandParserFactory); otherwise it is refused.

import { createWriteStream, type WriteStream } from "node:fs";
import type { AccessLogConfig } from "../envoy/bootstrap-types.ts";
import type { HeaderMap } from "../http/header-map.ts";

export interface AccessLogRecord {
  startTime: Date;
  requestHeaders: HeaderMap;
  responseHeaders: HeaderMap | null;
  responseTrailers: HeaderMap | null;
  protocol: string;
  responseCode: number | null;
  responseCodeDetails: string;
  responseFlags: string;
  bytesReceived: number;
  bytesSent: number;
  durationMs: number;
  upstreamHost: string | null;
  upstreamCluster: string | null;
  routeName: string | null;
  downstreamRemoteAddress: string;
  /** Filter state by full name (`wasm.ai.log`). */
  filterState: { get(name: string): Uint8Array | undefined };
}

export const DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** One operator's value: null is "not set" ("-" in text, null in JSON). */
type Value = string | number | { [k: string]: JsonValue } | null;
type Operator = (rec: AccessLogRecord) => Value;
type Part = string | Operator;

// ---------------------------------------------------------------------------------------------
// Parsing (SubstitutionFormatParser): literal text and %COMMAND(ARG):MAXLEN% operators.

const COMMAND = /^%([A-Z0-9_]+)(?:\(([^)]*)\))?(?::([0-9]+))?%/;

function parseFormat(format: string, commands: readonly string[] = []): Part[] {
  const parts: Part[] = [];
  let text = "";
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c !== "%") {
      text += c;
      i++;
      continue;
    }
    if (format[i + 1] === "%") {
      text += "%";
      i += 2;
      continue;
    }
    const m = COMMAND.exec(format.slice(i));
    if (m === null) throw new Error(`access_log format: couldn't find a valid command at position ${i} in ${JSON.stringify(format)}`);
    if (text !== "") parts.push(text);
    text = "";
    parts.push(makeOperator(m[1], m[2], m[3] === undefined ? null : Number(m[3]), commands));
    i += m[0].length;
  }
  if (text !== "") parts.push(text);
  return parts;
}

function truncate(v: Value, max: number | null): Value {
  return max !== null && typeof v === "string" && v.length > max ? v.slice(0, max) : v;
}

function nonEmpty(s: string | null): string | null {
  return s === null || s === "" ? null : s;
}

function makeOperator(name: string, arg: string | undefined, max: number | null, commands: readonly string[]): Operator {
  const needArg = (): string => {
    if (arg === undefined || arg === "") throw new Error(`access_log format: %${name}% needs an argument`);
    return arg;
  };
  const noArg = (op: Operator): Operator => {
    if (arg !== undefined) throw new Error(`access_log format: %${name}% takes no argument`);
    return op;
  };
  switch (name) {
    case "START_TIME": {
      const fmt = arg ?? "";
      return (r) => (fmt === "" ? r.startTime.toISOString() : strftime(fmt, r.startTime));
    }
    case "REQ":
      return headerOperator(needArg(), max, (r) => r.requestHeaders);
    case "REQ_WITHOUT_QUERY":
      if (!commands.includes(name)) throw new Error(`access_log format: %${name}% needs the envoy.formatter.req_without_query formatter in log_format.formatters`);
      return headerOperator(needArg(), max, (r) => r.requestHeaders, stripQueryString);
    case "RESP":
      return headerOperator(needArg(), max, (r) => r.responseHeaders);
    case "TRAILER":
      return headerOperator(needArg(), max, (r) => r.responseTrailers);
    case "PROTOCOL":
      return noArg((r) => nonEmpty(r.protocol));
    case "RESPONSE_CODE":
      return noArg((r) => r.responseCode ?? 0);
    case "RESPONSE_CODE_DETAILS":
      return noArg((r) => nonEmpty(r.responseCodeDetails));
    case "RESPONSE_FLAGS":
      return noArg((r) => (r.responseFlags === "" ? "-" : r.responseFlags));
    case "BYTES_RECEIVED":
      return noArg((r) => r.bytesReceived);
    case "BYTES_SENT":
      return noArg((r) => r.bytesSent);
    case "DURATION":
      return noArg((r) => Math.floor(r.durationMs));
    case "UPSTREAM_HOST":
      return noArg((r) => nonEmpty(r.upstreamHost));
    case "UPSTREAM_CLUSTER":
      return noArg((r) => nonEmpty(r.upstreamCluster));
    case "ROUTE_NAME":
      return noArg((r) => nonEmpty(r.routeName));
    case "DOWNSTREAM_REMOTE_ADDRESS":
      return noArg((r) => nonEmpty(r.downstreamRemoteAddress));
    case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
      return noArg((r) => nonEmpty(stripPort(r.downstreamRemoteAddress)));
    case "DYNAMIC_METADATA":
      needArg();
      return () => null; // the local gateway has no dynamic metadata producers
    case "FILTER_STATE":
      return filterStateOperator(needArg(), max);
    default:
      throw new Error(`access_log format: unsupported command operator %${name}%`);
  }
}

/** REQ(X?Y): X, or Y when X is absent; first value of a repeated header (HeaderFormatter). */
function headerOperator(arg: string, max: number | null, map: (r: AccessLogRecord) => HeaderMap | null, transform?: (v: string) => string): Operator {
  const [main, alt, extra] = arg.split("?");
  if (extra !== undefined || main === "") throw new Error(`access_log format: invalid header specifier ${JSON.stringify(arg)}`);
  const a = main.toLowerCase();
  const b = alt === undefined || alt === "" ? null : alt.toLowerCase();
  return (r) => {
    const h = map(r);
    if (h === null) return null;
    const v = h.get(a) ?? (b === null ? null : h.get(b));
    return truncate(v !== null && transform ? transform(v) : v, max);
  };
}

/** Http::Utility::stripQueryString: the value up to its first '?'. */
function stripQueryString(v: string): string {
  const q = v.indexOf("?");
  return q < 0 ? v : v.slice(0, q);
}

function filterStateOperator(arg: string, max: number | null): Operator {
  const [key, mode = "TYPED", extra] = arg.split(":");
  if (key === "" || extra !== undefined || (mode !== "TYPED" && mode !== "PLAIN")) {
    throw new Error(`access_log format: invalid FILTER_STATE argument ${JSON.stringify(arg)}`);
  }
  if (mode === "PLAIN") {
    return (r) => {
      const v = r.filterState.get(key);
      return v === undefined ? null : truncate(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("utf8"), max);
    };
  }
  return (r) => {
    const v = r.filterState.get(key);
    if (v === undefined) return null;
    return { "@type": "type.googleapis.com/google.protobuf.BytesValue", value: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") };
  };
}

function stripPort(addr: string): string {
  if (addr.startsWith("[")) return addr.slice(1, addr.indexOf("]"));
  const i = addr.lastIndexOf(":");
  return i < 0 ? addr : addr.slice(0, i);
}

// ---------------------------------------------------------------------------------------------
// START_TIME(format): absl::FormatTime specifiers in UTC, plus Envoy's %s and %[1-9]f / %f.

function pad(n: number, w: number): string {
  return String(n).padStart(w, "0");
}

function strftime(fmt: string, d: Date): string {
  const nanos = pad(d.getUTCMilliseconds(), 3) + "000000";
  return fmt.replace(/%([1-9])?f|%E([1-9*])([Sf])|%([a-zA-Z%])/g, (whole, fw: string | undefined, ew, ek: string | undefined, c: string | undefined) => {
    if (whole.endsWith("f") && ek === undefined && c === undefined) return fw === undefined ? nanos : nanos.slice(0, Number(fw));
    if (ek !== undefined) {
      const digits = ew === "*" ? nanos.replace(/0+$/, "") : nanos.slice(0, Number(ew));
      if (ek === "f") return digits;
      return pad(d.getUTCSeconds(), 2) + (digits === "" ? "" : "." + digits);
    }
    switch (c) {
      case "Y":
        return String(d.getUTCFullYear());
      case "y":
        return pad(d.getUTCFullYear() % 100, 2);
      case "m":
        return pad(d.getUTCMonth() + 1, 2);
      case "d":
        return pad(d.getUTCDate(), 2);
      case "e":
        return String(d.getUTCDate()).padStart(2, " ");
      case "H":
        return pad(d.getUTCHours(), 2);
      case "M":
        return pad(d.getUTCMinutes(), 2);
      case "S":
        return pad(d.getUTCSeconds(), 2);
      case "j": {
        const start = Date.UTC(d.getUTCFullYear(), 0, 1);
        return pad(Math.floor((d.getTime() - start) / 86_400_000) + 1, 3);
      }
      case "s":
        return String(Math.floor(d.getTime() / 1000));
      case "z":
        return "+0000";
      case "Z":
        return "UTC";
      case "T":
        return `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
      case "F":
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
      case "%":
        return "%";
      default:
        return whole;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Rendering.

interface Compiled {
  render(rec: AccessLogRecord): string;
}

function textOf(v: Value): string {
  if (v === null) return "-";
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return JSON.stringify(v);
}

function renderText(parts: Part[], rec: AccessLogRecord): string {
  let out = "";
  for (const p of parts) out += typeof p === "string" ? p : textOf(p(rec));
  return out;
}

type JsonTemplate = { kind: "literal"; value: JsonValue } | { kind: "format"; parts: Part[] } | { kind: "object"; entries: [string, JsonTemplate][] };

function compileJson(value: unknown, path: string, commands: readonly string[]): JsonTemplate {
  if (typeof value === "string") return { kind: "format", parts: parseFormat(value, commands) };
  if (value === null || typeof value === "number" || typeof value === "boolean") return { kind: "literal", value };
  if (typeof value === "object" && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]): [string, JsonTemplate] => [k, compileJson(v, `${path}.${k}`, commands)]);
    return { kind: "object", entries };
  }
  throw new Error(`access_log json_format: unsupported value at ${path}`);
}

function sortDeep(v: JsonValue): JsonValue {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(sortDeep);
  const out: { [k: string]: JsonValue } = {};
  for (const k of Object.keys(v).sort()) out[k] = sortDeep(v[k]);
  return out;
}

function renderJson(t: JsonTemplate, rec: AccessLogRecord): JsonValue {
  switch (t.kind) {
    case "literal":
      return t.value;
    case "object": {
      const out: { [k: string]: JsonValue } = {};
      for (const [k, sub] of t.entries) out[k] = renderJson(sub, rec);
      return out;
    }
    case "format": {
      // A single operator keeps its type; anything else is the text rendering.
      if (t.parts.length === 1 && typeof t.parts[0] !== "string") {
        const v = t.parts[0](rec);
        return v !== null && typeof v === "object" ? sortDeep(v) : v;
      }
      return renderText(t.parts, rec);
    }
  }
}

const compiled = new WeakMap<AccessLogConfig, Compiled>();

/** Parses and validates the config's format; throws an Error naming the bad operator. */
export function compileAccessLogFormat(cfg: AccessLogConfig): Compiled {
  const hit = compiled.get(cfg);
  if (hit) return hit;
  let c: Compiled;
  if (cfg.jsonFormat !== null) {
    const t = compileJson(cfg.jsonFormat, "json_format", cfg.commands ?? []);
    c = { render: (rec) => JSON.stringify(renderJson(t, rec)) + "\n" };
  } else {
    const parts = parseFormat(cfg.textFormat ?? DEFAULT_TEXT_FORMAT, cfg.commands ?? []);
    c = { render: (rec) => renderText(parts, rec) };
  }
  compiled.set(cfg, c);
  return c;
}

/** The line Envoy would write for this stream, its newline included (if the format has one). */
export function formatAccessLog(cfg: AccessLogConfig, rec: AccessLogRecord): string {
  return compileAccessLogFormat(cfg).render(rec);
}

// ---------------------------------------------------------------------------------------------
// Sinks.

export type AccessLogSink = ((line: string) => void) & { close(): Promise<void> };

/**
 * A writer for the config's `path`: /dev/stdout and /dev/stderr go to the process streams,
 * anything else is opened for append (Envoy's file access logger). The format is validated here.
 */
export function createAccessLogSink(cfg: AccessLogConfig): AccessLogSink {
  compileAccessLogFormat(cfg);
  let stream: NodeJS.WritableStream;
  let file: WriteStream | null = null;
  if (cfg.path === "/dev/stdout") stream = process.stdout;
  else if (cfg.path === "/dev/stderr") stream = process.stderr;
  else {
    file = createWriteStream(cfg.path, { flags: "a" });
    file.on("error", (err) => process.stderr.write(`access_log: cannot write ${cfg.path}: ${err.message}\n`));
    stream = file;
  }
  const sink = (line: string): void => {
    stream.write(line);
  };
  return Object.assign(sink, {
    close: (): Promise<void> => (file === null ? Promise.resolve() : new Promise<void>((resolve) => file.end(() => resolve()))),
  });
}
