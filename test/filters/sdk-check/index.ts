// A test-only filter written on lib/runtime's conveniences, so the SDK's body buffering and
// http-callout helpers are exercised through the host as a filter author uses them.
//   /upper   : the whole request body, upper-cased, goes upstream
//   /callout : the body is sent to cluster "callout"; its answer is appended before going upstream;
//              a non-200 or failed callout becomes a local 502 naming the status
//   any path : the response body gets "!" appended (content-length dropped while held)
export * from "../../../lib/runtime/exports";
import { Action, HeaderPair, HttpCallResponse, HttpContext, RootContext, registerRootContext } from "../../../lib/runtime";

class Check extends HttpContext {
  path: string = "";

  onRequestHeaders(numHeaders: u32, endOfStream: bool): i32 {
    const p = this.getRequestHeader(":path");
    this.path = p != null ? p : "";
    this.removeRequestHeader("content-length");
    this.bufferRequestBody = true;
    return Action.Continue;
  }

  onRequestBodyComplete(body: Uint8Array): i32 {
    if (this.path == "/upper") {
      this.replaceRequestBody(Uint8Array.wrap(String.UTF8.encode(String.UTF8.decode(body.buffer).toUpperCase())));
      return Action.Continue;
    }
    if (this.path == "/callout") {
      const headers = [new HeaderPair(":method", "POST"), new HeaderPair(":path", "/check"), new HeaderPair(":authority", "callout")];
      const copy = new Uint8Array(body.length);
      copy.set(body);
      this.httpCall("callout", headers, copy.buffer, 2000);
      return Action.Pause;
    }
    return Action.Continue;
  }

  onHttpCallResponse(response: HttpCallResponse): void {
    if (response.failed || response.status != 200) {
      const why = response.failed ? "reset" : response.status.toString();
      this.sendLocalResponse(502, "callout_failed", String.UTF8.encode("callout failed: " + why), []);
      return;
    }
    const body = this.getRequestBody();
    const before = body != null ? String.UTF8.decode(body.buffer) : "";
    this.replaceRequestBody(Uint8Array.wrap(String.UTF8.encode(before + "+" + String.UTF8.decode(response.body.buffer))));
    this.continueRequest();
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): i32 {
    this.removeResponseHeader("content-length");
    this.bufferResponseBody = true;
    return Action.Continue;
  }

  onResponseBodyComplete(body: Uint8Array): i32 {
    this.replaceResponseBody(Uint8Array.wrap(String.UTF8.encode(String.UTF8.decode(body.buffer) + "!")));
    return Action.Continue;
  }
}

class CheckRoot extends RootContext {
  createHttpContext(id: u32): HttpContext {
    return new Check(id, this);
  }
}

registerRootContext("", (id: u32): RootContext => new CheckRoot(id));
