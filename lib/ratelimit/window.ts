// Kong's rate-limiting windows (reference kong-ai-plugins.md §9.2): fixed windows aligned on
// the epoch, and the weighted sliding window that counts the previous window's total by the
// share of it still inside the sliding span. Pure arithmetic, no ABI.

/** Start (seconds since the epoch) of the window of `size` seconds holding `now`. */
export function windowStart(now: i64, size: i64): i64 {
  return now - (now % size);
}

/** Kong's rate: the current count, plus the previous one weighted when sliding. */
export function windowRate(current: f64, previous: f64, now: i64, size: i64, sliding: bool): f64 {
  if (!sliding) return current;
  const elapsed = <f64>(now - windowStart(now, size));
  const weight = (<f64>size - elapsed) / <f64>size;
  return current + previous * weight;
}

/** Kong's reset: seconds until the window frees up (at least 1); longer for an overfull sliding window. */
export function windowReset(rate: f64, limit: f64, now: i64, size: i64, sliding: bool): i64 {
  let reset = max<i64>(1, size - (now - windowStart(now, size)));
  if (sliding && rate > limit && rate + limit > 0) reset += <i64>Math.ceil(((rate - limit) / (rate + limit)) * <f64>size);
  return reset;
}

/** Kong's window names in headers: second, minute, hour, day, month, year, else the seconds. */
export function windowName(size: i64): string {
  if (size == 1) return "second";
  if (size == 60) return "minute";
  if (size == 3600) return "hour";
  if (size == 86400) return "day";
  if (size == 2592000) return "month";
  if (size == 31536000) return "year";
  return size.toString();
}
