// Guarding a streamed answer without holding the whole stream back. The OpenAI-format SSE
// events ai-proxy produces are parsed as they arrive and held; each carries the running
// count of generated-text bytes up to its end. Text is checked in segments of at least
// `response_buffer_size` bytes, one check at a time; an event is released as soon as every
// byte of text up to its end has passed. Events without text (the role chunk, finish_reason,
// usage, [DONE]) go with the text before them. No ABI here: index.ts feeds and drains it.

import { SseEvent, SseParser } from "../../lib/llm/sse";
import { ByteBuilder } from "../../lib/llm/json-writer";
import { answerText, decodedBytes, partialWord } from "./text";

/** The longest partial word carried into the next check, so a word cut between segments is seen whole. */
const MAX_CARRY: i32 = 64;

class Held {
  constructor(
    public bytes: Uint8Array,
    /** Generated-text bytes up to and including this event. */
    public textEnd: i64,
  ) {}
}

/** One event as SSE bytes: `event:` when typed, a `data:` line per line of data, a blank line. */
export function eventBytes(e: SseEvent): Uint8Array {
  const out = new ByteBuilder(e.data.length + 16);
  if (e.event.length > 0) {
    out.bytes(Uint8Array.wrap(String.UTF8.encode("event: " + e.event + "\n")));
  }
  const d = e.data;
  let start = 0;
  for (let i = 0; i <= d.length; i++) {
    if (i == d.length || unchecked(d[i]) == 0x0a) {
      out.bytes(DATA_PREFIX);
      out.range(d, start, i);
      out.byte(0x0a);
      start = i + 1;
    }
  }
  out.byte(0x0a);
  return out.toBytes();
}

const DATA_PREFIX: Uint8Array = Uint8Array.wrap(String.UTF8.encode("data: "));

export class StreamGuard {
  private parser: SseParser = new SseParser();
  private held: Held[] = [];
  /** Index of the first held event not yet released. */
  private head: i32 = 0;
  /** Generated-text bytes seen so far. */
  textTotal: i64 = 0;
  /** Text bytes that passed. */
  checkedUpTo: i64 = 0;
  /** The end of the segment being checked; -1 when no check is in flight. */
  inFlightUpTo: i64 = -1;
  /** Text not yet sent to a check (JSON-escaped). */
  private pending: ByteBuilder = new ByteBuilder(256);
  private pendingBytes: i64 = 0;
  /** The tail of the last checked text after its last whitespace (escaped). */
  private carry: Uint8Array = new Uint8Array(0);
  /** Scratch for one event's text. */
  private scratch: ByteBuilder = new ByteBuilder(256);
  /** The upstream stream ended (end of stream or [DONE]). */
  ended: bool = false;
  /** The most text held at once (bytes), for the analytics. */
  maxHeldText: i64 = 0;

  constructor(public segmentBytes: i32) {}

  /** Parses a chunk of the upstream SSE stream into held events. */
  push(chunk: Uint8Array, endOfStream: bool): void {
    const events = this.parser.push(chunk);
    for (let i = 0; i < events.length; i++) this.add(events[i]);
    if (endOfStream) {
      const last = this.parser.finish();
      for (let i = 0; i < last.length; i++) this.add(last[i]);
      this.ended = true;
    }
  }

  private add(e: SseEvent): void {
    if (e.isDone()) this.ended = true;
    else {
      const t = this.scratch;
      t.reset();
      answerText(e.data, t);
      if (t.len > 0) {
        const esc = t.toBytes();
        this.pending.bytes(esc);
        const n = <i64>decodedBytes(esc);
        this.pendingBytes += n;
        this.textTotal += n;
        const heldText = this.textTotal - this.checkedUpTo;
        if (heldText > this.maxHeldText) this.maxHeldText = heldText;
      }
    }
    this.held.push(new Held(eventBytes(e), this.textTotal));
  }

  /**
   * The text of the next check, or null when none is due: one is due when no check is in
   * flight and at least `segmentBytes` of text wait, or the stream ended with text waiting.
   */
  nextCheck(): Uint8Array | null {
    if (this.inFlightUpTo >= 0 || this.pendingBytes == 0) return null;
    if (this.pendingBytes < <i64>this.segmentBytes && !this.ended) return null;
    const seg = this.pending.toBytes();
    const text = new Uint8Array(this.carry.length + seg.length);
    text.set(this.carry, 0);
    text.set(seg, this.carry.length);
    this.inFlightUpTo = this.textTotal;
    this.carry = partialWord(seg, MAX_CARRY);
    this.pending.reset();
    this.pendingBytes = 0;
    return text;
  }

  /** The check in flight passed. */
  passed(): void {
    if (this.inFlightUpTo > this.checkedUpTo) this.checkedUpTo = this.inFlightUpTo;
    this.inFlightUpTo = -1;
  }

  /** Events whose text has all passed, in order, as bytes (removed from the held list). */
  release(): Uint8Array {
    const out = new ByteBuilder(256);
    while (this.head < this.held.length && this.held[this.head].textEnd <= this.checkedUpTo) {
      out.bytes(this.held[this.head].bytes);
      this.head++;
    }
    if (this.head == this.held.length) {
      this.held = [];
      this.head = 0;
    }
    return out.toBytes();
  }

  /** Nothing held and nothing left to check: the stream may end. */
  get drained(): bool {
    return this.head == this.held.length && this.pendingBytes == 0 && this.inFlightUpTo < 0;
  }

  /** Drops everything held (a breach). */
  discard(): void {
    this.held = [];
    this.head = 0;
    this.pending.reset();
    this.pendingBytes = 0;
    this.inFlightUpTo = -1;
  }
}
