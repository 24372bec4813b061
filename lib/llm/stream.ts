// Base classes for stream translators: they own the splitting (SSE events or NDJSON
// lines, any byte split), the output buffer, the error frame and the final [DONE]. A
// provider implements one method that turns a complete event/line into frames.

import { ByteBuilder } from "./json-writer";
import { LlmRequest, RouteType, StreamTranslator } from "./provider";
import { SseEvent, SseParser } from "./sse";
import { LineSplitter } from "./ndjson";
import { ChunkHeader, makeId, writeDone, writeStreamError } from "./format";

const EMPTY = new Uint8Array(0);

/** The error frame for an upstream stream that ended without its end marker: never passed off as a complete answer. */
export const STREAM_CUT_SHORT = "upstream stream ended before its end marker";

/** Shared plumbing: output buffer, chunk header, failure and the end of the stream. */
export abstract class FramedStreamTranslator extends StreamTranslator {
  /** Frames written by the current push(); emptied after each call. */
  out: ByteBuilder = new ByteBuilder(512);
  /** id/model/created/object for writeChatChunk; providers may update id and model from the upstream. */
  header: ChunkHeader;

  constructor(public req: LlmRequest) {
    super();
    const completions = req.route == RouteType.Completions;
    this.header = new ChunkHeader(
      req.requestId.length > 0 ? req.requestId : makeId(completions ? "cmpl-" : "chatcmpl-"),
      req.model,
      req.created,
      completions ? "text_completion" : "chat.completion.chunk",
    );
  }

  /** Writes the error frame and stops translating. */
  fail(message: string): void {
    if (this.finished) return;
    writeStreamError(this.out, message);
    this.error = message;
    this.failed = true;
    this.finished = true;
  }

  /** Writes `data: [DONE]` once; later input is ignored. */
  done(): void {
    if (this.finished) return;
    writeDone(this.out);
    this.finished = true;
  }

  /** Appends generated text to the log payload when collecting. */
  collect(s: string): void {
    const t = this.text;
    if (t != null) t.str(s);
  }

  /** Takes what was written since the last call. */
  protected drain(): Uint8Array {
    if (this.out.len == 0) return EMPTY;
    const b = this.out.toBytes();
    this.out.reset();
    return b;
  }
}

/** For upstreams that stream SSE (OpenAI format, Anthropic). */
export abstract class SseStreamTranslator extends FramedStreamTranslator {
  parser: SseParser = new SseParser();

  /**
   * One complete upstream event: write frames with writeChatChunk(this.out, this.header, ...),
   * record this.usage / this.model, call this.done() at the upstream's end marker. Return
   * null, or an error message to end the stream with an error frame.
   */
  abstract onEvent(ev: SseEvent): string | null;

  /**
   * The upstream stream ended (every event fed) without this.done() or a failure. An upstream
   * whose last event is its end (Gemini's finishReason) writes the end here and calls done();
   * otherwise the stream was cut short and ends with an error frame, without [DONE].
   */
  onEnd(): void {}

  push(chunk: Uint8Array, eos: bool): Uint8Array {
    if (!this.finished) {
      this.feed(this.parser.push(chunk));
      if (!this.finished && this.parser.overflow) this.fail("upstream stream event too large");
      if (eos && !this.finished) this.feed(this.parser.finish());
      if (eos && !this.finished) this.onEnd();
    }
    if (eos) this.fail(STREAM_CUT_SHORT); // no-op after done() or an earlier failure
    return this.drain();
  }

  private feed(events: SseEvent[]): void {
    for (let i = 0; i < events.length && !this.finished; i++) {
      const err = this.onEvent(unchecked(events[i]));
      if (err != null) this.fail(err);
    }
  }
}

/** For upstreams that stream newline-delimited JSON (Cohere v1, Ollama). */
export abstract class NdjsonStreamTranslator extends FramedStreamTranslator {
  splitter: LineSplitter = new LineSplitter();

  /** One complete line (a JSON document, unvalidated). Same contract as SseStreamTranslator.onEvent. */
  abstract onLine(line: Uint8Array): string | null;

  push(chunk: Uint8Array, eos: bool): Uint8Array {
    if (!this.finished) {
      this.feed(this.splitter.push(chunk));
      if (!this.finished && this.splitter.overflow) this.fail("upstream stream line too large");
      if (eos && !this.finished) this.feed(this.splitter.finish());
    }
    if (eos) this.fail(STREAM_CUT_SHORT); // no-op after done() or an earlier failure
    return this.drain();
  }

  private feed(lines: Uint8Array[]): void {
    for (let i = 0; i < lines.length && !this.finished; i++) {
      const err = this.onLine(unchecked(lines[i]));
      if (err != null) this.fail(err);
    }
  }
}
