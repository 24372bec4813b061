// The last filter of an in-process stream, standing in for the router and the upstream: it
// reads the request to its end, then answers with fixed headers (and a body, when given).
import { HeaderMap } from "../../host/http/header-map.ts";
import type { DecoderFilterCallbacks, HttpFilter } from "../../host/http/filter-manager.ts";
import { BufferInstance } from "../../host/proxy/buffer.ts";
import { DataStatus, HeadersStatus, TrailersStatus } from "../../host/abi/enums.ts";

export interface Answer {
  headers: [string, string][];
  /** Sent after the headers; none: the headers end the stream. */
  body?: string;
  /** Runs when the request headers arrive (to write filter state an earlier filter would have). */
  onHeaders?: () => void;
  /** Runs when the request has ended, with its whole body, before the answer goes out. */
  onEnd?: (body: Buffer) => void;
}

export class AnsweringUpstream implements HttpFilter {
  private cb!: DecoderFilterCallbacks;
  private body: Buffer = Buffer.alloc(0);
  constructor(private readonly answer: Answer) {}
  setDecoderFilterCallbacks(cb: DecoderFilterCallbacks): void {
    this.cb = cb;
  }
  decodeHeaders(_h: HeaderMap, end: boolean): HeadersStatus {
    this.answer.onHeaders?.();
    if (end) this.respond();
    return HeadersStatus.StopIteration;
  }
  decodeData(data: BufferInstance, end: boolean): DataStatus {
    if (this.answer.onEnd) this.body = Buffer.concat([this.body, data.toBuffer()]);
    data.drain(data.length);
    if (end) this.respond();
    return DataStatus.StopIterationNoBuffer;
  }
  decodeTrailers(): TrailersStatus {
    return TrailersStatus.StopIteration;
  }
  private respond(): void {
    const { headers, body, onEnd } = this.answer;
    onEnd?.(this.body);
    this.cb.encodeHeaders(new HeaderMap(headers), body === undefined);
    if (body !== undefined) this.cb.encodeData(new BufferInstance(Buffer.from(body)), true);
  }
}
