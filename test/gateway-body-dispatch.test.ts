// When the request body arrives in the same read as its headers, the filters get it within
// that read, before anything the headers callbacks deferred runs. Envoy's HTTP/1 codec does so:
// source/common/http/http1/codec_impl.cc (ConnectionImpl::innerDispatch and
// onMessageComplete call dispatchBufferedBody within the dispatch of the read's bytes).
// The gateway gets there with req.read(0) in host/gateway/connection-manager.ts; without it the
// body waits for the stream's nextTick resume.
import { afterEach, expect, it, vi } from "vitest";
import net from "node:net";
import { FilterManager } from "../host/http/filter-manager.ts";
import { startGateway, type RunningGateway } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";

let gw: RunningGateway | null = null;
let up: TestUpstream | null = null;
afterEach(async () => {
  vi.restoreAllMocks();
  await gw?.close();
  await up?.close();
  gw = up = null;
});

/** Writes `raw` in one write and resolves with the whole answer once the server closes. */
function rawRequest(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(raw));
    let out = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => (out += d));
    s.on("end", () => resolve(out));
    s.on("error", reject);
  });
}

it("hands a body that came with its headers to the filters before the next tick", async () => {
  up = await startUpstream();
  gw = await startGateway({ filters: [], clusters: { upstream: { port: up.port } } });
  // Per stream: whether a nextTick queued when the headers were decoded had run when the first
  // body chunk was decoded.
  const tickedBeforeBody: boolean[] = [];
  let ticked = true;
  let firstData = false;
  const decodeHeaders = FilterManager.prototype.decodeHeaders;
  const decodeData = FilterManager.prototype.decodeData;
  vi.spyOn(FilterManager.prototype, "decodeHeaders").mockImplementation(function (this: FilterManager, ...args: Parameters<FilterManager["decodeHeaders"]>) {
    ticked = false;
    firstData = true;
    process.nextTick(() => (ticked = true));
    return decodeHeaders.apply(this, args);
  });
  vi.spyOn(FilterManager.prototype, "decodeData").mockImplementation(function (this: FilterManager, ...args: Parameters<FilterManager["decodeData"]>) {
    if (firstData) {
      firstData = false;
      tickedBeforeBody.push(ticked);
    }
    return decodeData.apply(this, args);
  });
  const port = Number(new URL(gw.url).port);
  const body = '{"hello":"world"}';
  const answer = await rawRequest(port, `POST /x HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
  expect(answer.startsWith("HTTP/1.1 200")).toBe(true);
  expect(up.received[0]!.body).toBe(body);
  expect(tickedBeforeBody).toEqual([false]);
});
