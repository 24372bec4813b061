// Number and ordering helpers that reproduce the C++ formatting Envoy's admin output uses.

/** fmt's "{:.Ng}": N significant digits, exponent form below 1e-4 or from 10^N, trailing zeros dropped. */
export function formatG(x: number, precision: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  // toExponential is exact (correctly rounded), like fmt's precision formatting.
  const m = /^(-?)(\d)\.?(\d*)e([+-]\d+)$/.exec(x.toExponential(precision - 1))!;
  const [, sign, lead, rest, expStr] = m as unknown as [string, string, string, string, string];
  const digits = lead + rest;
  const e = Number(expStr);
  if (e < -4 || e >= precision) {
    const frac = rest.replace(/0+$/, "");
    return `${sign}${lead}${frac ? `.${frac}` : ""}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  let int: string;
  let frac: string;
  if (e >= 0) {
    int = digits.slice(0, e + 1).padEnd(e + 1, "0");
    frac = digits.slice(e + 1);
  } else {
    int = "0";
    frac = "0".repeat(-e - 1) + digits;
  }
  frac = frac.replace(/0+$/, "");
  return `${sign}${int}${frac ? `.${frac}` : ""}`;
}

/** fmt's "{}" for a double: the shortest round-trip digits, exponent form below 1e-4 or from 1e16. */
export function formatShortest(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const m = /^(-?)(\d)\.?(\d*)e([+-]\d+)$/.exec(x.toExponential())!;
  const [, sign, lead, rest, expStr] = m as unknown as [string, string, string, string, string];
  const e = Number(expStr);
  if (e < -4 || e >= 16) {
    return `${sign}${lead}${rest ? `.${rest}` : ""}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  const digits = lead + rest;
  if (e >= 0) {
    const int = digits.slice(0, e + 1).padEnd(e + 1, "0");
    const frac = digits.slice(e + 1);
    return `${sign}${int}${frac ? `.${frac}` : ""}`;
  }
  return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
}

/** std::string ordering: by UTF-8 bytes. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** SymbolTable ordering of stat names: token by token (tokens split at '.'). */
export function compareStatNames(a: string, b: string): number {
  const ta = a.split(".");
  const tb = b.split(".");
  for (let i = 0; i < Math.min(ta.length, tb.length); i++) {
    const c = compareBytes(ta[i]!, tb[i]!);
    if (c !== 0) return c;
  }
  return ta.length - tb.length;
}
