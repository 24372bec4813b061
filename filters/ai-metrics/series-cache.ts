// The series of each label set seen, keyed by the raw bytes that decide the labels: a request
// whose label set was seen before costs one key build and one map lookup, no label cleaning,
// no stat-name building and no name hashing (the "≤ 3 µs per request" goal).

import { HttpContext } from "../../lib/runtime";
import { L_OPERATION, L_ROUTE_TYPE, labelAt, R_LABELS } from "../../lib/analytics/facts";
import { requestPath } from "./facts";
import { AiRecord, labelsFromFacts } from "./record";
import { Labels, SeriesSet } from "./series";

/** Distinct label sets kept; past this the cache starts over (the handles stay defined). */
export const MAX_LABEL_SETS = 4096;

const ROUTE_TYPES = [String.UTF8.encode("llm/v1/chat"), String.UTF8.encode("llm/v1/completions"), String.UTF8.encode("llm/v1/embeddings")];
const OPERATIONS = [String.UTF8.encode("chat"), String.UTF8.encode("text_completion"), String.UTF8.encode("embeddings")];

/** Whether the `n` bytes at `p` are one of `list`. */
function oneOf(p: usize, n: u32, list: ArrayBuffer[]): bool {
  for (let i = 0; i < list.length; i++) {
    const t = unchecked(list[i]);
    if (<u32>t.byteLength == n && memory.compare(p, changetype<usize>(t), n) == 0) return true;
  }
  return false;
}

/** Whether the route type (`n` bytes at `p`) alone names the GenAI operation (else the path does). */
function knownRouteAt(p: usize, n: u32): bool {
  return n > 0 && oneOf(p, n, ROUTE_TYPES); // n == 0: ai-proxy writes none
}

/** Whether the recorded operation (`n` bytes at `p`) is one genaiOperation takes as it is. */
function knownOperationAt(p: usize, n: u32): bool {
  return oneOf(p, n, OPERATIONS);
}

function knownRoute(routeType: ArrayBuffer): bool {
  return knownRouteAt(changetype<usize>(routeType), routeType.byteLength);
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

/** Appends `n` bytes at `src`. */
function append(src: usize, n: usize): void {
  reserve(<i32>n);
  memory.copy(changetype<usize>(keyBuf) + <usize>keyLen, src, n);
  keyLen += <i32>n;
}

/** Appends a length-prefixed field, so that no two different field lists give one key. */
function field(b: ArrayBuffer): void {
  reserve(4);
  store<u32>(changetype<usize>(keyBuf) + <usize>keyLen, b.byteLength);
  keyLen += 4;
  append(changetype<usize>(b), b.byteLength);
}

/**
 * Ends the key with the path (when it decides the operation) and the status: its class, and
 * for error.type the code itself outside 2xx/3xx.
 */
function endKey(path: ArrayBuffer | null, s: i64): void {
  if (path != null) field(path);
  reserve(4);
  store<u32>(changetype<usize>(keyBuf) + <usize>keyLen, s >= 200 && s < 400 ? <u32>(s / 100) : <u32>(1000 + s));
  keyLen += 4;
}

const cache = new Map<string, SeriesSet>();
// The last request's key and series: consecutive requests of one label set (the usual run)
// are matched with one byte compare, without making a key string or hashing it.
let lastKey = new ArrayBuffer(0);
let lastSet: SeriesSet | null = null;
// The key of the last miss, as a map key (see remember).
let missKey = "";

/** The series of the key in keyBuf, or null for a label set not in the cache (then call remember). */
function cached(): SeriesSet | null {
  const last = lastSet;
  if (last != null && lastKey.byteLength == keyLen && memory.compare(changetype<usize>(lastKey), changetype<usize>(keyBuf), keyLen) == 0) return last;
  lastKey = keyBuf.slice(0, keyLen);
  // The key as a string: the bytes read as UTF-16 code units, which any byte pair is, so
  // (unlike a UTF-8 decode) different bytes never give the same key.
  const key = String.UTF16.decodeUnsafe(changetype<usize>(keyBuf), <usize>keyLen);
  if (cache.has(key)) return (lastSet = cache.get(key));
  missKey = key;
  return null;
}

/** Caches the series of a label set `cached` missed. */
function remember(labels: Labels): SeriesSet {
  if (cache.size >= MAX_LABEL_SETS) cache.clear();
  const set = new SeriesSet(labels);
  cache.set(missKey, set);
  lastSet = set;
  return set;
}

/** The request's path, when the route type does not name the operation (else null). */
function pathFor(routeType: ArrayBuffer, stream: HttpContext): string | null {
  if (knownRoute(routeType)) return null;
  const h = stream.getRequestHeader(":path");
  return h != null ? h : "";
}

/**
 * The series of `r`'s label set (read from the individual keys). The request's :path is read
 * from `stream` only when the route type does not name the operation.
 */
export function seriesFor(r: AiRecord, workspace: string, stream: HttpContext): SeriesSet {
  const p = pathFor(r.routeType, stream);
  // The label fields in lib/analytics/facts.ts's order, so a record read from `ai.facts`
  // gives the same key.
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
  field(r.operation);
  endKey(p != null ? String.UTF8.encode(p) : null, r.status);
  const hit = cached();
  return hit != null ? hit : remember(Labels.of(r, workspace, p != null ? p : ""));
}

/**
 * The series of the record payload at `at` (`ai.facts`, lib/analytics/facts.ts), whose counts
 * and status `r` holds: its label fields are the key as they are, and become strings only for
 * a label set not seen before.
 */
export function seriesForFacts(at: usize, len: u32, r: AiRecord, workspace: string): SeriesSet {
  const rt = labelAt(at, L_ROUTE_TYPE);
  const op = labelAt(at, L_OPERATION);
  let path: ArrayBuffer | null = null;
  // The route type, else the operation the producer recorded, names the operation: then :path
  // is not read (its label-set key is the label fields alone).
  if (!knownRouteAt(rt + 4, load<u32>(rt)) && !knownOperationAt(op + 4, load<u32>(op))) {
    const h = requestPath();
    path = h != null ? h : new ArrayBuffer(0);
  }
  keyLen = 0;
  append(at + R_LABELS, <usize>len - R_LABELS);
  endKey(path, r.status);
  const hit = cached();
  if (hit != null) return hit;
  labelsFromFacts(r, at);
  return remember(Labels.of(r, workspace, path != null ? String.UTF8.decode(path) : ""));
}
