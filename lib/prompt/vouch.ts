// One JSON validation for the prompt filters of a chain: a filter that validated a request body
// and forwards it unchanged (the template, on an untemplated request) records in filter state a
// keyed hash of the body beside its top-level member spans; the next filter (the decorator)
// hashes the body it is given with the same key, and on a match takes the spans instead of
// validating again. Only for bodies of VOUCH_MIN_BYTES or more: below that the two property
// calls cost more than the validation they save.
//
// Why a match can be trusted:
// - Filter state is not client-visible: only filters the operator configured write it.
// - The key is drawn per request by the writer (from the VM's PRNG, seeded by WASI random_get)
//   and stored beside the hash, so no collision can be prepared in advance: a client gets one
//   try per request against a key it never sees.
// - A filter between the two (Lua, ext_proc, another Wasm filter) that rewrites the body makes
//   the hash (or the length) differ, and the reader validates as if nothing was recorded.
// - The hash is fast rather than cryptographic. If a collision ever happened, the reader would
//   read spans that do not fit the bytes: every read is bounds-checked (lib/prompt/scan), so it
//   cannot trap, and whatever it writes is validated again by the guard and ai-proxy, which
//   never take this shortcut. A body that fails validation never matches a recorded hash, so
//   Kong's messages for invalid bodies are unchanged.

import { getPropertyAt, serializePath, setProperty } from "../abi/properties";
import { Member } from "./scan";

/** Bodies shorter than this are validated by every filter (validation costs less than the calls). */
export const VOUCH_MIN_BYTES: i32 = 8192;

const KEY: string[] = ["ai.prompt.validated_body"];
// @ts-ignore: decorator
@lazy const KEY_PATH: ArrayBuffer = serializePath(KEY);

const M: u64 = 0xff51afd7ed558ccd;

@inline function mix(h: u64, w: u64): u64 {
  return rotl<u64>(h ^ w, 29) * M;
}

function fmix(h: u64): u64 {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53;
  return h ^ (h >> 33);
}

/** A keyed 64-bit hash of `len` bytes at `p`: four independent lanes, 32 bytes a turn (~0.06 ns a byte). */
export function keyedHash(p: usize, len: i32, key: u64): u64 {
  let a = key ^ 0x9e3779b97f4a7c15;
  let b = key ^ 0xc2b2ae3d27d4eb4f;
  let c = key ^ 0x165667b19e3779f9;
  let d = key ^ 0x27d4eb2f165667c5;
  let i = 0;
  for (; i + 32 <= len; i += 32) {
    const q = p + <usize>i;
    a = mix(a, load<u64>(q));
    b = mix(b, load<u64>(q, 8));
    c = mix(c, load<u64>(q, 16));
    d = mix(d, load<u64>(q, 24));
  }
  for (; i + 8 <= len; i += 8) a = mix(a, load<u64>(p + <usize>i));
  for (; i < len; i++) b = mix(b, <u64>load<u8>(p + <usize>i));
  return fmix(a ^ rotl<u64>(b, 17) ^ rotl<u64>(c, 31) ^ rotl<u64>(d, 47) ^ (<u64>len * M) ^ key);
}

/** A fresh 64-bit key (the VM's PRNG: WASI-seeded, never shown to a client). */
function freshKey(): u64 {
  return (<u64>(Math.random() * 4294967296.0) << 32) | <u64>(Math.random() * 4294967296.0);
}

/**
 * Records that `body`, a valid JSON object with top-level `members`, goes on unchanged. Does
 * nothing for a body under VOUCH_MIN_BYTES.
 */
export function vouch(body: Uint8Array, members: Member[]): void {
  const n = body.length;
  if (n < VOUCH_MIN_BYTES) return;
  const m = members.length;
  const rec = new ArrayBuffer(24 + 16 * m);
  const r = changetype<usize>(rec);
  const key = freshKey();
  store<u64>(r, key);
  store<u64>(r, keyedHash(body.dataStart, n, key), 8);
  store<u32>(r, <u32>n, 16);
  store<u32>(r, <u32>m, 20);
  for (let k = 0; k < m; k++) {
    const x = unchecked(members[k]);
    const f = r + 24 + (<usize>k << 4);
    store<i32>(f, x.keyStart);
    store<i32>(f, x.keyEnd, 4);
    store<i32>(f, x.valueStart, 8);
    store<i32>(f, x.valueEnd, 12);
  }
  setProperty(KEY, rec);
}

/**
 * When an earlier filter vouched for exactly these bytes: fills `members` (cleared first, Member
 * objects from `pool`) with its top-level member spans and answers true. False otherwise (no
 * record, another length, another hash, a malformed record, or a body under VOUCH_MIN_BYTES):
 * validate.
 */
export function vouched(body: Uint8Array, members: Member[], pool: Member[]): bool {
  const n = body.length;
  if (n < VOUCH_MIN_BYTES) return false;
  const rec = getPropertyAt(KEY_PATH);
  if (rec == null || rec.byteLength < 24) return false;
  const r = changetype<usize>(rec);
  const m = <i32>load<u32>(r, 20);
  if (<i32>load<u32>(r, 16) != n || m < 0 || m > (rec.byteLength - 24) >> 4 || rec.byteLength != 24 + 16 * m) return false;
  if (keyedHash(body.dataStart, n, load<u64>(r)) != load<u64>(r, 8)) return false;
  members.length = 0;
  for (let k = 0; k < m; k++) {
    const f = r + 24 + (<usize>k << 4);
    let x: Member;
    if (k < pool.length) x = unchecked(pool[k]);
    else {
      x = new Member(0, 0, 0, 0);
      pool.push(x);
    }
    x.keyStart = load<i32>(f);
    x.keyEnd = load<i32>(f, 4);
    x.valueStart = load<i32>(f, 8);
    x.valueEnd = load<i32>(f, 12);
    members.push(x);
  }
  return true;
}
