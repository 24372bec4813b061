// The exports of a filter that works on the request only (the prompt filters): the context
// callbacks, the request's headers, body and trailers (trailers complete a buffered body), and
// nothing for the response, the access log or done. Envoy (proxy-wasm cpp-host, ContextBase::
// onResponseHeaders and the rest; onDone answers true and onLog does nothing without the export)
// calls no export a module lacks, so each request costs four module calls fewer than with
// lib/runtime/exports' full set. A filter that overrides a callback left out here must use the full set.
// lib/prompt/read lends `malloc` its kept buffers for the body and content-length reads.
export { proxy_abi_version_0_2_1, proxy_on_context_create, proxy_on_vm_start, proxy_on_configure, proxy_on_request_headers, proxy_on_request_body, proxy_on_request_trailers, proxy_on_delete } from "../runtime/exports";
export { malloc } from "../abi/memory";
