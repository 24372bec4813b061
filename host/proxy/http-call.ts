// Envoy Context::httpCall and onHttpCallSuccess/onHttpCallFailure: validate, send through the
// cluster's async client, and deliver the buffered response to the root context later.

import { WasmResult } from "../abi/enums.ts";
import { HeaderMap, type HeaderPair } from "../http/header-map.ts";
import type { RootContext } from "./context.ts";

export function dispatchHttpCall(
  root: RootContext,
  cluster: string,
  headerPairs: HeaderPair[],
  body: Uint8Array,
  trailerPairs: HeaderPair[],
  timeoutMs: number,
): { token: number } | WasmResult {
  const vm = root.vm;
  if (timeoutMs < 0) return WasmResult.BadArgument;
  if (!vm.services.hasCluster(cluster)) return WasmResult.BadArgument;
  const headers = new HeaderMap(headerPairs);
  if (headers.get(":path") === null || headers.get(":method") === null || headers.get(":authority") === null) {
    return WasmResult.BadArgument;
  }
  if (body.length > 0) headers.set("content-length", String(body.length));
  void trailerPairs; // the local gateway's HTTP/1.1 upstreams carry no request trailers
  const token = vm.nextHttpCallId();
  const call = vm.services.callout(cluster, headers, body, timeoutMs);
  root.pendingCalls.set(token, { cancel: call.cancel });
  call.promise.then(
    (result) => deliver(root, token, result),
    () => deliver(root, token, { kind: "reset" }),
  );
  return { token };
}

function deliver(root: RootContext, token: number, result: Awaited<ReturnType<RootContext["vm"]["services"]["callout"]>["promise"]>): void {
  // A call whose root context is gone (or cancelled) is dropped, as Envoy cancels it.
  if (!root.pendingCalls.delete(token) || root.destroyed) return;
  const vm = root.vm;
  if (vm.failed || !vm.hasExport("proxy_on_http_call_response")) return;
  if (result.kind === "response") {
    root.httpCallResponse = { headers: result.headers, body: result.body, trailers: result.trailers.count > 0 ? result.trailers : null };
    vm.addAfterVmCallAction(() => {
      root.httpCallResponse = null;
    });
    vm.call("proxy_on_http_call_response", root, root.id, token, result.headers.count, result.body.length, result.trailers.count);
  } else {
    root.status = { code: WasmResult.BrokenConnection, message: "reset" };
    vm.addAfterVmCallAction(() => {
      root.status = { code: root.status.code, message: "" };
    });
    vm.call("proxy_on_http_call_response", root, root.id, token, 0, 0, 0);
  }
  vm.finishCall();
}
