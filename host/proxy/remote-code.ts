// vm_config.code.remote: Envoy's RemoteAsyncDataProvider (source/common/config/datasource.cc;
// source/extensions/common/wasm/remote_async_datasource.cc in current Envoy) around
// RemoteDataFetcher (source/common/config/remote_data_fetcher.cc). A GET of http_uri.uri
// through http_uri.cluster with http_uri.timeout; only a 200 with a non-empty body whose
// lower-case hex SHA-256 equals `sha256` is accepted ("data is invalid" otherwise). A failed
// attempt is retried num_retries times (default 1) after a jittered exponential back-off from
// retry_back_off.base_interval (default 1 s, capped at max_interval, default 10 s). When every attempt fails the code is empty and
// the plugin fails to load (source/extensions/common/wasm/wasm.cc: createWasm's complete_cb).

import { createHash } from "node:crypto";
import type { CodeSource } from "../envoy/bootstrap-types.ts";
import { HeaderMap } from "../http/header-map.ts";
import type { CalloutResult } from "./vm-services.ts";

export type Remote = Extract<CodeSource, { kind: "remote" }>;
type Callout = (cluster: string, headers: HeaderMap, body: Uint8Array, timeoutMs: number) => { promise: Promise<CalloutResult> };

/** Http::Utility::prepareHeaders: :authority and :path from the URI, GET. */
function requestHeaders(uri: string): HeaderMap {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^#]*)/.exec(uri);
  const host = m ? m[1]! : "";
  const path = m && m[2] ? m[2] : "/";
  return new HeaderMap([
    [":method", "GET"],
    [":path", path.startsWith("/") ? path : `/${path}`],
    [":authority", host],
    [":scheme", uri.startsWith("https:") ? "https" : "http"],
  ]);
}

/** One RemoteDataFetcher attempt: the code, or why it was not accepted. */
async function fetchOnce(remote: Remote, callout: Callout): Promise<{ code: Uint8Array } | { error: string }> {
  if (!remote.cluster) return { error: `no cluster ${remote.cluster}` };
  const r = await callout(remote.cluster, requestHeaders(remote.uri), new Uint8Array(), remote.timeoutMs).promise;
  if (r.kind !== "response") return { error: "network error" };
  const status = r.headers.get(":status");
  if (status !== "200") return { error: `response status code ${status}` };
  if (r.body.length === 0) return { error: "body is empty" };
  const hash = createHash("sha256").update(r.body).digest("hex");
  if (hash !== remote.sha256) return { error: `data is invalid (sha256 ${hash}, expected ${remote.sha256})` };
  return { code: r.body };
}

/** The fetched code, or null with every attempt's reason in `errors`. */
export async function fetchRemoteCode(remote: Remote, callout: Callout, errors: string[]): Promise<Uint8Array | null> {
  for (let attempt = 0; attempt <= remote.retries; attempt++) {
    if (attempt > 0) {
      // JitteredExponentialBackOffStrategy: a random wait below min(base * 2^n, max).
      const ceiling = Math.min(remote.retryBaseMs * 2 ** (attempt - 1), remote.retryMaxMs);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * ceiling)));
    }
    const got = await fetchOnce(remote, callout);
    if ("code" in got) return got.code;
    errors.push(`fetch remote data [uri = ${remote.uri}]: ${got.error}`);
  }
  return null;
}

/** fetchRemoteCode with Envoy's log lines: each failed attempt, then the load failure. */
export async function fetchRemoteCodeLogged(remote: Remote, callout: Callout, logError: (message: string) => void): Promise<Uint8Array | null> {
  const errors: string[] = [];
  const bytes = await fetchRemoteCode(remote, callout, errors);
  for (const e of errors) logError(e);
  if (!bytes) logError(`Failed to load Wasm code (fetch failed) from ${remote.uri}`);
  return bytes;
}
