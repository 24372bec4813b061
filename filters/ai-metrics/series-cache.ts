// The series of each label set seen, keyed by the raw bytes that decide the labels: a request
// whose label set was seen before costs one key build and one map lookup, no label cleaning,
// no stat-name building and no name hashing (the "≤ 3 µs per request" goal).

import { HttpContext } from "../../lib/runtime";
import { AiRecord } from "./record";
import { Labels, SeriesSet } from "./series";

/** Distinct label sets kept; past this the cache starts over (the handles stay defined). */
export const MAX_LABEL_SETS = 4096;

const ROUTE_TYPES = [String.UTF8.encode("llm/v1/chat"), String.UTF8.encode("llm/v1/completions"), String.UTF8.encode("llm/v1/embeddings")];

function same(a: ArrayBuffer, b: ArrayBuffer): bool {
  const n = a.byteLength;
  return n == b.byteLength && memory.compare(changetype<usize>(a), changetype<usize>(b), n) == 0;
}

/** Whether the route type alone names the GenAI operation (else the path does). */
function knownRoute(routeType: ArrayBuffer): bool {
  for (let i = 0; i < ROUTE_TYPES.length; i++) if (same(routeType, unchecked(ROUTE_TYPES[i]))) return true;
  return false;
}

let keyBuf = new ArrayBuffer(256);
let keyLen = 0;

function reserve(n: i32): void {
  if (keyLen + n <= keyBuf.byteLength) return;
  let size = keyBuf.byteLength << 1;
  while (size < keyLen + n) size <<= 1;
  const grown = new ArrayBuffer(size);
  memory.copy(changetype<usize>(grown), changetype<usize>(keyBuf), keyLen);
  keyBuf = grown;
}

/** Appends a length-prefixed field, so that no two different field lists give one key. */
function field(b: ArrayBuffer): void {
  const n = b.byteLength;
  reserve(4 + n);
  const p = changetype<usize>(keyBuf) + <usize>keyLen;
  store<u32>(p, n);
  memory.copy(p + 4, changetype<usize>(b), n);
  keyLen += 4 + n;
}

/**
 * The key as a string: the bytes read as UTF-16 code units, which any byte pair is, so
 * (unlike a UTF-8 decode) different bytes never give the same key.
 */
function keyOf(r: AiRecord, path: ArrayBuffer | null): string {
  keyLen = 0;
  field(r.provider);
  field(r.requestModel);
  field(r.responseModel);
  field(r.requestMode);
  field(r.routeType);
  field(r.cacheStatus);
  field(r.vectorDb);
  field(r.embeddingsProvider);
  field(r.embeddingsModel);
  if (path != null) field(path);
  // status_class, and error.type (the code itself outside 2xx/3xx).
  reserve(4);
  const s = r.status;
  store<u32>(changetype<usize>(keyBuf) + <usize>keyLen, s >= 200 && s < 400 ? <u32>(s / 100) : <u32>(1000 + s));
  keyLen += 4;
  return String.UTF16.decodeUnsafe(changetype<usize>(keyBuf), <usize>keyLen);
}

const cache = new Map<string, SeriesSet>();

/**
 * The series of `r`'s label set. The request's :path is read from `stream` only when the
 * route type does not name the operation.
 */
export function seriesFor(r: AiRecord, workspace: string, stream: HttpContext): SeriesSet {
  let p: string | null = null;
  if (!knownRoute(r.routeType)) {
    const h = stream.getRequestHeader(":path");
    p = h != null ? h : "";
  }
  const key = keyOf(r, p != null ? String.UTF8.encode(p) : null);
  if (cache.has(key)) return cache.get(key);
  if (cache.size >= MAX_LABEL_SETS) cache.clear();
  const set = new SeriesSet(Labels.of(r, workspace, p != null ? p : ""));
  cache.set(key, set);
  return set;
}
