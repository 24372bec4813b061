// A finished stream lets go of its headers, bodies, filters and filter state, after the access
// log and the filters' log have seen them. (A stream object V8 promoted while it was in flight
// stays in old space, dead, until a full GC; anything it still points to is kept alive by every
// scavenge until then. Measured on ai-proxy at 32 connections: 3.3 MB promoted per scavenge
// and 12 ms pauses before, 51 KB and 2 ms after.)
import { describe, expect, it } from "vitest";
import { HeaderMap } from "../host/http/header-map.ts";
import { FilterManager, type DownstreamSink } from "../host/http/filter-manager.ts";
import { BufferInstance } from "../host/proxy/buffer.ts";
import { StreamInfo } from "../host/proxy/stream-info.ts";
import { AnsweringUpstream } from "./support/answering-upstream.ts";

/** Writes filter state, answers once the request has ended, and records what its log callback sees. */
class Answering extends AnsweringUpstream {
  logged: { requestHeaders: string | null; state: string | undefined } | null = null;
  constructor(private readonly info: StreamInfo) {
    super({ headers: [[":status", "200"]], body: "answer", onHeaders: () => info.filterState.setWasm("k", Buffer.from("v")) });
  }
  log(): void {
    this.logged = { requestHeaders: this.info.requestHeaders?.get(":path") ?? null, state: this.info.filterState.get("wasm.k")?.toString() };
  }
}

const sink: DownstreamSink = { encodeHeaders() {}, encodeData() {}, encodeTrailers() {}, reset() {}, readDisable() {} };

describe("a finished stream", () => {
  it("releases what it holds, after the access log and the filters' log have read it", () => {
    const info = new StreamInfo(1, { address: "127.0.0.1", port: 1 }, { address: "127.0.0.1", port: 2 });
    const fm = new FilterManager(info, sink, 1 << 20);
    const filter = new Answering(info);
    fm.addFilter(filter);
    let accessLog: string | undefined;
    fm.addAccessLog(() => (accessLog = `${info.requestHeaders?.get(":path")} ${info.responseHeaders?.get(":status")} ${info.filterState.get("wasm.k")}`));
    fm.decodeHeaders(null, new HeaderMap([[":method", "POST"], [":path", "/x"]]), false);
    fm.decodeData(null, new BufferInstance(Buffer.from("body")), true);

    expect(fm.destroyed).toBe(true);
    expect(accessLog).toBe("/x 200 v");
    expect(filter.logged).toEqual({ requestHeaders: "/x", state: "v" });
    expect([fm.requestHeadersMap, fm.responseHeadersMap, fm.bufferedRequest, fm.bufferedResponse]).toEqual([null, null, null, null]);
    expect([fm.decoders.length, fm.encoders.length]).toEqual([0, 0]);
    expect([info.requestHeaders, info.responseHeaders, info.filterState.size]).toEqual([null, null, 0]);
    // The stream's facts stay: they are plain values on the StreamInfo, not references.
    expect(info.responseCode).toBe(200);
  });
});
