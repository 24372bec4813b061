// Stream behaviour through the local gateway, against the probe test filter and a real
// upstream. Each test pins a point where Envoy is stricter than a naive host would be.
import { afterEach, describe, expect, it } from "vitest";
import { startGateway, testFilter, type RunningGateway, type WasmFilterSpec } from "./support/gateway.ts";
import { startUpstream, type TestUpstream } from "./support/upstream.ts";
import { send } from "./support/client.ts";
import { enters, result, until } from "./support/probe.ts";

const PROBE = testFilter("probe");
let gw: RunningGateway | null = null;
const ups: TestUpstream[] = [];

afterEach(async () => {
  await gw?.close();
  gw = null;
  await Promise.all(ups.splice(0).map((u) => u.close()));
});

async function setup(script: Record<string, unknown>, over: Partial<WasmFilterSpec> = {}, extra: { bufferLimit?: number; slowCalloutMs?: number } = {}) {
  const up = await startUpstream();
  const callout = await startUpstream(async (_r, res) => {
    await new Promise((r) => setTimeout(r, extra.slowCalloutMs ?? 0));
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("callout-ok");
  });
  ups.push(up, callout);
  gw = await startGateway({
    filters: [{ name: "probe", code: PROBE, config: script, ...over }],
    clusters: { upstream: { port: up.port }, callout: { port: callout.port } },
    bufferLimit: extra.bufferLimit,
  });
  return { up, callout, g: gw };
}

const CALL = ["http_call", "callout", [[":method", "GET"], [":path", "/c"], [":authority", "callout"]], "", 5000];

describe("request headers: Pause and what it holds", () => {
  it("Pause on headers holds the body too (StopAllIterationAndWatermark): no body callback until continue", async () => {
    const { up, g } = await setup(
      {
        on_request_headers: [CALL, ["return", 1]],
        on_http_call_response: [["resume_origin"], ["continue_stream", 0]],
      },
      {},
      { slowCalloutMs: 300 },
    );
    const r = await send(g.url, { path: "/p", chunks: ["aa", "bb", "cc"], gapMs: 40 });
    expect(r.status).toBe(200);
    await until(() => enters(g, "on_http_call_response").length === 1);
    const seq = enters(g).map((l) => l.cb);
    // The body arrived while headers were held; it is delivered only after the callout resumed the stream.
    expect(seq.indexOf("on_http_call_response")).toBeGreaterThan(-1);
    expect(seq.indexOf("on_request_body")).toBeGreaterThan(seq.indexOf("on_http_call_response"));
    const bodies = enters(g, "on_request_body");
    expect(bodies[0]!.args.body_size).toBe("6");
    expect(up.received[0]!.body).toBe("aabbcc");
  });

  it("with allow_on_headers_stop_iteration, body callbacks run while headers are held, and headers stay writable", async () => {
    const { up, g } = await setup(
      {
        on_request_headers: [["return", 1]],
        on_request_body: [["return", 1]],
        "on_request_body:eos": [["replace_header", 0, "x-from-body", "yes"], ["return", 0]],
      },
      { allowOnHeadersStopIteration: true },
    );
    const r = await send(g.url, { path: "/p", chunks: ["ab", "cd"], gapMs: 30 });
    expect(r.status).toBe(200);
    expect(result(g, "on_request_body", "replace_header").status).toBe(0);
    expect(up.received[0]!.headers["x-from-body"]).toBe("yes");
    expect(up.received[0]!.body).toBe("abcd");
  });

  it("headers are writable only while held: after Continue, replace/remove/get answer BAD_ARGUMENT", async () => {
    const { up, g } = await setup({
      on_request_headers: [["replace_header", 0, "x-in-headers", "1"], ["return", 0]],
      "on_request_body:eos": [
        ["replace_header", 0, "x-late", "1"],
        ["remove_header", 0, "x-in-headers"],
        ["get_header", 0, ":path"],
        ["header_size", 0],
        ["get_headers", 0],
      ],
    });
    await send(g.url, { path: "/p", body: "hello" });
    expect(result(g, "on_request_headers", "replace_header").status).toBe(0);
    expect(result(g, "on_request_body", "replace_header").status).toBe(2);
    expect(result(g, "on_request_body", "remove_header").status).toBe(2);
    expect(result(g, "on_request_body", "get_header").status).toBe(2);
    expect(result(g, "on_request_body", "header_size").status).toBe(2);
    // get-pairs answers OK with an empty map.
    expect(result(g, "on_request_body", "get_headers").status).toBe(0);
    expect(result(g, "on_request_body", "get_headers").value).toBe("[]");
    expect(up.received[0]!.headers["x-in-headers"]).toBe("1");
    expect(up.received[0]!.headers["x-late"]).toBeUndefined();
  });
});

describe("request body", () => {
  it("body_size is the whole buffered body while the filter keeps returning Pause, then Continue sends it all", async () => {
    const { up, g } = await setup({
      on_request_body: [["return", 1]],
      "on_request_body:eos": [["get_buffer", 0, 0, 1000], ["return", 0]],
    });
    await send(g.url, { path: "/p", chunks: ["ab", "cd", "ef"], gapMs: 40 });
    const sizes = enters(g, "on_request_body").map((l) => Number(l.args.body_size));
    expect(sizes.slice(0, 3)).toEqual([2, 4, 6]);
    expect(sizes.at(-1)).toBe(6);
    expect(result(g, "on_request_body", "get_buffer").value).toBe("abcdef");
    expect(up.received[0]!.body).toBe("abcdef");
  });

  it("after Continue, body_size is just the chunk", async () => {
    const { up, g } = await setup({ on_request_body: [["return", 0]] });
    await send(g.url, { path: "/p", chunks: ["ab", "cd", "ef"], gapMs: 40 });
    const sizes = enters(g, "on_request_body").map((l) => Number(l.args.body_size));
    expect(sizes.slice(0, 3)).toEqual([2, 2, 2]);
    expect(up.received[0]!.body).toBe("abcdef");
  });

  it("get_buffer_bytes clamps to the buffer; a start past the end reads nothing", async () => {
    const { g } = await setup({
      on_request_body: [["return", 1]],
      "on_request_body:eos": [["get_buffer", 0, 4, 100], ["get_buffer", 0, 10, 5], ["get_buffer", 0, 0, 4294967295], ["return", 0]],
    });
    await send(g.url, { path: "/p", body: "abcdef" });
    expect(result(g, "on_request_body", "get_buffer", 0)).toMatchObject({ status: 0, value: "ef" });
    expect(result(g, "on_request_body", "get_buffer", 1)).toMatchObject({ status: 0, value: "" });
    expect(result(g, "on_request_body", "get_buffer", 2)).toMatchObject({ status: 0, value: "abcdef" });
  });

  // A filter that changes the body must drop content-length while headers are held: Envoy does not fix it.
  it("set_buffer_bytes can prepend, append or replace, never splice", async () => {
    const { up, g } = await setup({
      on_request_headers: [["remove_header", 0, "content-length"]],
      on_request_body: [["return", 1]],
      "on_request_body:eos": [["set_buffer", 0, 0, 0, "<"], ["set_buffer", 0, 1000, 0, ">"], ["set_buffer", 0, 3, 1, "!"], ["return", 0]],
    });
    await send(g.url, { path: "/p", body: "abcdef" });
    expect(result(g, "on_request_body", "set_buffer", 0).status).toBe(0);
    expect(result(g, "on_request_body", "set_buffer", 1).status).toBe(0);
    expect(result(g, "on_request_body", "set_buffer", 2).status).toBe(2);
    expect(up.received[0]!.body).toBe("<abcdef>");
  });

  it("set_buffer_bytes(0, len) replaces the whole body", async () => {
    const { up, g } = await setup({
      on_request_headers: [["remove_header", 0, "content-length"]],
      on_request_body: [["return", 1]],
      "on_request_body:eos": [["set_buffer", 0, 0, 1000, "replaced"], ["return", 0]],
    });
    await send(g.url, { path: "/p", body: "original body" });
    expect(up.received[0]!.body).toBe("replaced");
  });

  it("buffering past the limit answers 413 and the upstream sees nothing", async () => {
    const { up, g } = await setup({ on_request_body: [["return", 1]] }, {}, { bufferLimit: 16 });
    const r = await send(g.url, { path: "/p", chunks: ["0123456789", "0123456789", "0123456789"], gapMs: 30 });
    expect(r.status).toBe(413);
    expect(r.body).toBe("Payload Too Large");
    expect(up.received).toHaveLength(0);
  });

  it("past the limit while headers are held (Watermark), the body is back-pressured, not refused", async () => {
    const { up, g } = await setup(
      { on_request_headers: [CALL, ["return", 1]], on_http_call_response: [["resume_origin"], ["continue_stream", 0]] },
      {},
      { bufferLimit: 16, slowCalloutMs: 200 },
    );
    const r = await send(g.url, { path: "/p", chunks: ["0123456789", "0123456789", "0123456789"], gapMs: 20 });
    expect(r.status).toBe(200);
    expect(up.received[0]!.body).toBe("012345678901234567890123456789");
  });

  it("trailers: the last body callback has end_of_stream=false, then on_request_trailers", async () => {
    const { up, g } = await setup({ on_request_trailers: [["get_headers", 1]] });
    const r = await send(g.url, { path: "/p", chunks: ["abc"], trailers: { "x-checksum": "42" } });
    expect(r.status).toBe(200);
    const bodies = enters(g, "on_request_body");
    expect(bodies.every((b) => b.args.eos === "0")).toBe(true);
    expect(enters(g, "on_request_trailers")).toHaveLength(1);
    expect(result(g, "on_request_trailers", "get_headers").value).toContain("x-checksum");
    // Envoy's HTTP/1 codec drops trailers toward the upstream by default.
    expect(up.received[0]!.body).toBe("abc");
  });

  it("a request without a body never gets on_request_body", async () => {
    const { g } = await setup({});
    await send(g.url, { path: "/p" });
    expect(enters(g, "on_request_headers")[0]!.args.eos).toBe("1");
    expect(enters(g, "on_request_body")).toHaveLength(0);
  });
});

describe("response body", () => {
  const bigResponse = async (up: TestUpstream) =>
    up.setHandler(async (_r, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      for (let i = 0; i < 3; i++) {
        res.write("0123456789");
        await new Promise((r) => setTimeout(r, 20));
      }
      res.end();
    });

  it("buffering the response past the limit before headers are sent answers 500", async () => {
    const { up, g } = await setup({ on_response_headers: [["return", 1]], on_response_body: [["return", 1]] }, { allowOnHeadersStopIteration: true }, { bufferLimit: 16 });
    await bigResponse(up);
    const r = await send(g.url, { path: "/p" });
    expect(r.status).toBe(500);
    expect(r.body).toBe("Internal Server Error");
  });

  it("buffering the response past the limit after headers went out resets the stream", async () => {
    const { up, g } = await setup({ on_response_body: [["return", 1]] }, {}, { bufferLimit: 16 });
    await bigResponse(up);
    const r = await send(g.url, { path: "/p" });
    // Headers (200) were already sent downstream; all Envoy can do is reset.
    expect(r.body).not.toBe("012345678901234567890123456789");
  });
});

describe("local replies", () => {
  it("are deferred to the end of the callback, force Stop, and pass through the filter's own response callbacks", async () => {
    const { up, g } = await setup({
      on_request_headers: [["send_local_response", 403, "denied by probe", "nope", [["x-probe", "1"]], -1], ["get_header", 0, ":path"], ["return", 0]],
      on_response_headers: [["get_property", ["response", "code_details"]], ["get_header", 2, "x-probe"]],
    });
    const r = await send(g.url, { path: "/p" });
    expect(r.status).toBe(403);
    expect(r.body).toBe("nope");
    expect(r.headers["x-probe"]).toBe("1");
    expect(r.headers["content-type"]).toBe("text/plain");
    // Still in the callback after the call: headers are still held.
    expect(result(g, "on_request_headers", "get_header").status).toBe(0);
    // The filter sees its own reply, with details that are not via_upstream (whitespace → _).
    expect(result(g, "on_response_headers", "get_property").value).toBe("denied_by_probe");
    expect(result(g, "on_response_headers", "get_header").value).toBe("1");
    // Return 0 was forced to Stop: nothing reached the upstream.
    expect(up.received).toHaveLength(0);
  });

  it("an upstream response carries code_details via_upstream", async () => {
    const { g } = await setup({ on_response_headers: [["get_property", ["response", "code_details"]], ["get_property", ["response", "code"]]] });
    await send(g.url, { path: "/p" });
    expect(result(g, "on_response_headers", "get_property", 0).value).toBe("via_upstream");
  });

  it("a local reply from the response path, while response headers are held, goes straight downstream", async () => {
    const { g } = await setup({
      on_response_headers: [["send_local_response", 502, "replaced", "replaced by probe", [], -1], ["return", 1]],
    });
    const r = await send(g.url, { path: "/p" });
    expect(r.status).toBe(502);
    expect(r.body).toBe("replaced by probe");
    // Sent directly to the codec: the filter's response callbacks do not run a second time.
    await until(() => enters(g, "on_delete").length === 1);
    expect(enters(g, "on_response_headers")).toHaveLength(1);
  });
});

describe("stream lifecycle", () => {
  it("runs on_log, then on_done, then on_delete", async () => {
    const { g } = await setup({ on_log: [["get_header", 0, ":path"]] });
    await send(g.url, { path: "/p" });
    await until(() => enters(g, "on_delete").length === 1);
    const seq = enters(g)
      .map((l) => l.cb)
      .filter((c) => ["on_log", "on_done", "on_delete"].includes(c));
    expect(seq).toEqual(["on_log", "on_done", "on_delete"]);
    // In on_log the request headers are readable from the access-log copy.
    expect(result(g, "on_log", "get_header")).toMatchObject({ status: 0, value: "/p" });
  });
});
