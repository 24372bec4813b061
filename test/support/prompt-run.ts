// Requests through prompt filters in process (each filter in its own VM, as Envoy runs them), in
// front of an answering upstream that records what it got: test/prompt-vouch.test.ts and prompt-reuse.test.ts.
import { HeaderMap } from "../../host/http/header-map.ts";
import { FilterManager, type DownstreamSink, type HttpFilter } from "../../host/http/filter-manager.ts";
import { AnsweringUpstream } from "./answering-upstream.ts";
import { BufferInstance } from "../../host/proxy/buffer.ts";
import { StreamInfo } from "../../host/proxy/stream-info.ts";
import type { WasmPlugin } from "../../host/proxy/runtime.ts";
import { DataStatus, HeadersStatus, TrailersStatus } from "../../host/abi/enums.ts";

/** The filter-state key the upstream reports (the template's vouch record, lib/prompt/vouch.ts). */
export const RECORD = "ai.prompt.validated_body";

/** A non-Wasm filter between two Wasm ones (Lua, ext_proc): rewrites the whole body and/or the filter state. */
class Between implements HttpFilter {
  constructor(
    private readonly info: StreamInfo,
    private readonly rewrite: (body: Buffer, info: StreamInfo) => Buffer,
  ) {}
  setDecoderFilterCallbacks(): void {}
  decodeHeaders(_h: HeaderMap, end: boolean): HeadersStatus {
    return end ? HeadersStatus.Continue : HeadersStatus.StopIteration;
  }
  decodeData(data: BufferInstance, end: boolean): DataStatus {
    if (!end) return DataStatus.StopIterationAndBuffer;
    const next = this.rewrite(data.toBuffer(), this.info);
    data.drain(data.length);
    data.add(next);
    return DataStatus.Continue;
  }
  decodeTrailers(): TrailersStatus {
    return TrailersStatus.Continue;
  }
}

export interface Outcome {
  status: number;
  reply: string;
  upstream: string | null;
  record: boolean;
}

export type Step = WasmPlugin | ((body: Buffer, info: StreamInfo) => Buffer);

/**
 * One request through `chain`, in steps: the constructor sends the headers (every filter's
 * stream context is created then), `finish` sends the body in two chunks, as a client's arrives,
 * and ends the stream. Streams can be interleaved.
 */
export class Request {
  private readonly fm: FilterManager;
  /** What the upstream got: the body, and the vouch record it found in filter state. */
  private upBody: Buffer = Buffer.alloc(0);
  private upRecord: Uint8Array | undefined;
  private status = 0;
  private readonly reply: Buffer[] = [];

  constructor(
    chain: Step[],
    private readonly body: Buffer,
    contentLength: string | null = String(body.length),
  ) {
    const info = new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 });
    const sink: DownstreamSink = {
      encodeHeaders: (h) => (this.status = Number(h.get(":status"))),
      encodeData: (d) => this.reply.push(Buffer.from(d)),
      encodeTrailers() {},
      reset() {},
      readDisable() {},
    };
    this.fm = new FilterManager(info, sink, 1 << 30);
    for (const f of chain) this.fm.addFilter(typeof f === "function" ? new Between(info, f) : f.createStreamContext(0));
    const onEnd = (body: Buffer): void => {
      this.upBody = body;
      this.upRecord = info.filterState.getWasm(RECORD);
    };
    this.fm.addFilter(new AnsweringUpstream({ headers: [[":status", "200"]], body: "ok", onEnd }));
    const headers: [string, string][] = [[":method", "POST"], [":path", "/v1/chat/completions"], [":authority", "gw"], ["content-type", "application/json"]];
    if (contentLength !== null) headers.push(["content-length", contentLength]);
    this.fm.decodeHeaders(null, new HeaderMap(headers), false);
  }

  finish(): Outcome {
    const cut = this.body.length >> 1;
    this.fm.decodeData(null, new BufferInstance(this.body.subarray(0, cut)), false);
    this.fm.decodeData(null, new BufferInstance(this.body.subarray(cut)), true);
    const replied = Buffer.concat(this.reply).toString();
    const got = this.upBody;
    return { status: this.status, reply: this.status === 200 && got.length > 0 ? "" : replied, upstream: got.length > 0 ? got.toString("latin1") : null, record: this.upRecord !== undefined };
  }
}

/** One request through `chain`, start to end (`contentLength` null: none sent). */
export function run(chain: Step[], body: Buffer, contentLength: string | null = String(body.length)): Outcome {
  return new Request(chain, body, contentLength).finish();
}
