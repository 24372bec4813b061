// Reading a filter's configuration with Kong's field names. The first problem is kept with
// the path of the field it concerns ("prompts.prepend[3].role must be …"), for the one ERROR
// line on_configure logs before refusing. JSON null counts as "not set", as in Kong's
// exported configs (deck dumps print unset fields as null).

import { JSON } from "json-as";
import { isNull, valueArr, valueBool, valueNumber, valueObj, valueString } from "../json/read";

/** The largest integer a JSON number carries exactly. */
const MAX_SAFE: f64 = 9007199254740991;

export class ConfigReader {
  error: string | null = null;

  get ok(): bool {
    return this.error == null;
  }

  fail(message: string): void {
    if (this.error == null) this.error = message;
  }

  /** Refuses any key of `obj` outside `allowed`; `prefix` is the object's path plus ".". */
  onlyFields(obj: JSON.Obj, allowed: string[], prefix: string): void {
    const keys = obj.keys();
    for (let i = 0; i < keys.length; i++) {
      const k = unchecked(keys[i]);
      if (!allowed.includes(k)) {
        this.fail(prefix + k + " is not a known field (known: " + allowed.join(", ") + ")");
        return;
      }
    }
  }

  /** `obj[key]` unless absent or null. */
  present(obj: JSON.Obj, key: string): JSON.Value | null {
    const v = obj.get(key);
    if (v == null || isNull(v)) return null;
    return v;
  }

  bool(obj: JSON.Obj, key: string, fallback: bool, path: string): bool {
    const v = this.present(obj, key);
    if (v == null) return fallback;
    const b = valueBool(v);
    if (b < 0) {
      this.fail(path + " must be a boolean");
      return fallback;
    }
    return b == 1;
  }

  /** A non-negative integer (a size in bytes). */
  size(obj: JSON.Obj, key: string, fallback: u64, path: string): u64 {
    const v = this.present(obj, key);
    if (v == null) return fallback;
    const n = valueNumber(v);
    if (isNaN(n) || n < 0 || n > MAX_SAFE || Math.floor(n) != n) {
      this.fail(path + " must be a non-negative integer");
      return fallback;
    }
    return <u64>n;
  }

  string(v: JSON.Value | null, path: string): string | null {
    const s = valueString(v);
    if (s == null) this.fail(path + " must be a string");
    return s;
  }

  object(v: JSON.Value | null, path: string): JSON.Obj | null {
    const o = valueObj(v);
    if (o == null) this.fail(path + " must be an object");
    return o;
  }

  array(v: JSON.Value | null, path: string): JSON.Arr | null {
    const a = valueArr(v);
    if (a == null) this.fail(path + " must be an array");
    return a;
  }
}

/** Unicode code points in `s` (Kong's string lengths count characters, not UTF-16 units). */
export function codePoints(s: string): i32 {
  let n = 0;
  const len = s.length;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}
