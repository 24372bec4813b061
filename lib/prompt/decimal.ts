// A content-length read as the host returns it (bytes), for the prompt filters' early 413.

/** A decimal header value (raw bytes, e.g. content-length), or -1 when it is not one. */
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
