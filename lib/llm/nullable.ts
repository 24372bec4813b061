// Null tests on strings without String's == overload. In AssemblyScript 0.28 `s != null` (and
// `s !== null`) on a string runs String.__eq/__ne: a function call, where a pointer test is all
// a null check needs. For hot paths; elsewhere `!= null` reads better.

/** `s` is not null. */
// @ts-ignore: decorator
@inline export function isSome(s: string | null): bool {
  return changetype<usize>(s) != 0;
}

/** `a` and `b` hold the same text: the same string, or equal lengths and code units (String.__eq, inlined). */
// @ts-ignore: decorator
@inline export function sameText(a: string, b: string): bool {
  const n = a.length;
  return changetype<usize>(a) == changetype<usize>(b) || (n == b.length && memory.compare(changetype<usize>(a), changetype<usize>(b), <usize>n << 1) == 0);
}
