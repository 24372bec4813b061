// Typed access to one script op's arguments ([op, arg1, arg2, ...]) that records the first
// problem instead of trapping, so a bad script is reported as `probe error ...`.

import { JSON } from "json-as";
import { arrAt, valueArr, valueNumber, valueString } from "../../../lib/json/read";
import { HeaderPair } from "../../../lib/abi/pairs";

export class Args {
  error: string | null = null;

  constructor(public arr: JSON.Arr) {}

  get length(): i32 {
    return this.arr.length;
  }

  private bad(i: i32, what: string): void {
    if (this.error == null) this.error = "argument " + i.toString() + " must be " + what;
  }

  num(i: i32): f64 {
    const v = valueNumber(arrAt(this.arr, i));
    if (isNaN(v)) this.bad(i, "a number");
    return isNaN(v) ? 0 : v;
  }

  int(i: i32): i64 {
    const v = this.num(i);
    // Negative numbers pass through as their i64 value (e.g. -1 for "no gRPC status").
    if (v > 9.2e18 || v < -9.2e18) {
      this.bad(i, "an integer in i64 range");
      return 0;
    }
    return <i64>v;
  }

  str(i: i32): string {
    const s = valueString(arrAt(this.arr, i));
    if (s == null) {
      this.bad(i, "a string");
      return "";
    }
    return s;
  }

  /** True when argument i is a string (e.g. a metric name rather than a raw id). */
  isStr(i: i32): bool {
    return valueString(arrAt(this.arr, i)) != null;
  }

  strs(i: i32): string[] {
    const out = new Array<string>();
    const a = valueArr(arrAt(this.arr, i));
    if (a == null) {
      this.bad(i, "an array of strings");
      return out;
    }
    for (let k = 0; k < a.length; k++) {
      const s = valueString(arrAt(a, k));
      if (s == null) {
        this.bad(i, "an array of strings");
        return out;
      }
      out.push(s);
    }
    return out;
  }

  pairs(i: i32): HeaderPair[] {
    const out = new Array<HeaderPair>();
    const a = valueArr(arrAt(this.arr, i));
    if (a == null) {
      this.bad(i, "an array of [key, value] pairs");
      return out;
    }
    for (let k = 0; k < a.length; k++) {
      const p = valueArr(arrAt(a, k));
      const key = p != null ? valueString(arrAt(p, 0)) : null;
      const val = p != null ? valueString(arrAt(p, 1)) : null;
      if (key == null || val == null) {
        this.bad(i, "an array of [key, value] pairs");
        return out;
      }
      out.push(new HeaderPair(key, val));
    }
    return out;
  }
}
