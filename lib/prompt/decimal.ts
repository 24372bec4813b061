// A plain decimal as the host returns it (bytes): the prompt filters' content-length for their
// early 413, and the counts ai-metrics and the rate limiter read from filter state.

/** A non-negative decimal of at most 18 digits (raw bytes, e.g. content-length), or -1 when it is not one. */
export function parseDecimal(b: ArrayBuffer): i64 {
  return parseDecimalAt(changetype<usize>(b), b.byteLength);
}

/** The same for `n` bytes at `p`. */
export function parseDecimalAt(p: usize, n: i32): i64 {
  if (n == 0 || n > 18) return -1;
  let v: i64 = 0;
  for (let i = 0; i < n; i++) {
    const c = <i32>load<u8>(p + <usize>i);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + (c - 0x30);
  }
  return v;
}
