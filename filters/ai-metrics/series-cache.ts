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

/** Builds the key's bytes into keyBuf[0, keyLen). */
function buildKey(r: AiRecord, path: ArrayBuffer | null): void {
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
  field(r.errorType);
  if (path != null) field(path);
  // status_class, and error.type (the code itself outside 2xx/3xx).
  reserve(4);
  const s = r.status;
  store<u32>(changetype<usize>(keyBuf) + <usize>keyLen, s >= 200 && s < 400 ? <u32>(s / 100) : <u32>(1000 + s));
  keyLen += 4;
}

const cache = new Map<string, SeriesSet>();
// The last request's key and series: consecutive requests of one label set (the usual run)
// are matched with one byte compare, without making a key string or hashing it.
let lastKey = new ArrayBuffer(0);
let lastSet: SeriesSet | null = null;

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
  buildKey(r, p != null ? String.UTF8.encode(p) : null);
  const last = lastSet;
  if (last != null && lastKey.byteLength == keyLen && memory.compare(changetype<usize>(lastKey), changetype<usize>(keyBuf), keyLen) == 0) return last;
  lastKey = keyBuf.slice(0, keyLen);
  // The key as a string: the bytes read as UTF-16 code units, which any byte pair is, so
  // (unlike a UTF-8 decode) different bytes never give the same key.
  const key = String.UTF16.decodeUnsafe(changetype<usize>(keyBuf), <usize>keyLen);
  let set: SeriesSet;
  if (cache.has(key)) {
    set = cache.get(key);
  } else {
    if (cache.size >= MAX_LABEL_SETS) cache.clear();
    set = new SeriesSet(Labels.of(r, workspace, p != null ? p : ""));
    cache.set(key, set);
  }
  lastSet = set;
  return set;
}
