// A test entry (not a filter): exposes lib/llm's splitters, JSON writer and scanner to
// test/ai-proxy-llm.test.ts, which compiles this file on its own. Input goes into a buffer
// the test fills; each call writes a JSON answer to the output buffer.

import { SseEvent, SseParser } from "../sse";
import { LineSplitter } from "../ndjson";
import { JsonWriter, writeJsonNumber, ByteBuilder } from "../json-writer";
import { scanObject, decodeJsonString } from "../json-scan";

let input = new Uint8Array(0);
let output = new Uint8Array(0);
let sse = new SseParser(1 << 16);
let lines = new LineSplitter(1 << 16);

export function inputBuffer(len: i32): usize {
  input = new Uint8Array(len);
  return input.dataStart;
}
export function outputPtr(): usize {
  return output.dataStart;
}
export function outputLen(): i32 {
  return output.length;
}

function chunk(len: i32): Uint8Array {
  return input.subarray(0, min(len, input.length));
}

/** Resets the SSE parser (maxEventBytes) and the line splitter. */
export function reset(max: i32): void {
  sse = new SseParser(max);
  lines = new LineSplitter(max);
}

function writeEvents(evs: SseEvent[]): void {
  const w = new JsonWriter();
  w.beginObject().key("events").beginArray();
  for (let i = 0; i < evs.length; i++) {
    const e = unchecked(evs[i]);
    w.beginObject().fieldString("event", e.event).fieldString("data", e.dataString()).fieldString("id", e.id).fieldBool("done", e.isDone()).endObject();
  }
  w.endArray().fieldBool("overflow", sse.overflow).endObject();
  output = w.toBytes();
}

export function sseFeed(len: i32): void {
  writeEvents(sse.push(chunk(len)));
}
export function sseFinish(): void {
  writeEvents(sse.finish());
}

function writeLines(ls: Uint8Array[]): void {
  const w = new JsonWriter();
  w.beginObject().key("lines").beginArray();
  for (let i = 0; i < ls.length; i++) {
    const l = unchecked(ls[i]);
    w.string(String.UTF8.decodeUnsafe(l.dataStart, <usize>l.length));
  }
  w.endArray().fieldBool("overflow", lines.overflow).endObject();
  output = w.toBytes();
}

export function linesFeed(len: i32): void {
  writeLines(lines.push(chunk(len)));
}
export function linesFinish(): void {
  writeLines(lines.finish());
}

/** Input: UTF-16LE code units (any, lone surrogates included). Output: the JSON string literal. */
export function jsonString(len: i32): void {
  const units = len >> 1;
  const s = String.UTF16.decodeUnsafe(input.dataStart, <usize>(units << 1));
  const w = new JsonWriter();
  w.string(s);
  output = w.toBytes();
}

/** Input: a decimal number as text. Output: writeJsonNumber of its f64 value. */
export function jsonNumber(len: i32): void {
  const s = String.UTF8.decodeUnsafe(input.dataStart, <usize>min(len, input.length));
  const b = new ByteBuilder();
  writeJsonNumber(b, F64.parseFloat(s));
  output = b.toBytes();
}

/** Input: a JSON document. Output: [[key, rawValue], ...] of its top-level members, or null. */
export function scan(len: i32): void {
  const src = chunk(len);
  const ms = scanObject(src);
  const w = new JsonWriter();
  if (ms == null) w.null();
  else {
    w.beginArray();
    for (let i = 0; i < ms.length; i++) {
      const m = unchecked(ms[i]);
      w.beginArray().string(m.key).string(String.UTF8.decodeUnsafe(src.dataStart + <usize>m.valueStart, <usize>(m.valueEnd - m.valueStart)));
      w.string(decodeJsonString(src, m.keyStart, m.keyEnd)).endArray();
    }
    w.endArray();
  }
  output = w.toBytes();
}
