// A path-tracking reader over the parsed YAML. Every field read is marked; `done()` then
// refuses whatever is left, so a typo or an Envoy field the local gateway does not run
// fails loudly with its full path instead of being ignored.

import { childPath, EnvoyConfigError } from "./errors.ts";
import { parseDurationMs } from "./duration.ts";
import { nearName } from "./near-name.ts";

export type Mapping = Record<string, unknown>;

export function isMapping(v: unknown): v is Mapping {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export class ObjReader {
  private readonly used = new Set<string>();

  private constructor(
    readonly data: Mapping,
    readonly path: string,
  ) {}

  /** A reader over `value`, which must be a mapping. */
  static of(value: unknown, path: string): ObjReader {
    if (!isMapping(value)) throw new EnvoyConfigError(path, `expected a mapping, got ${describe(value)}`);
    return new ObjReader(value, path);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.data, key) && this.data[key] !== null;
  }

  at(key: string): string {
    return childPath(this.path, key);
  }

  keys(): string[] {
    return Object.keys(this.data);
  }

  /** The raw value, marked as read. */
  raw(key: string): unknown {
    this.used.add(key);
    return this.data[key];
  }

  /** Marks fields that are legal in Envoy and have no effect on the local gateway. */
  ignore(...keys: string[]): void {
    for (const k of keys) this.used.add(k);
  }

  optStr(key: string): string | undefined {
    if (!this.has(key)) return this.mark(key, undefined);
    const v = this.raw(key);
    if (typeof v !== "string") throw new EnvoyConfigError(this.at(key), `expected a string, got ${describe(v)}`);
    return v;
  }

  str(key: string, def?: string): string {
    const v = this.optStr(key);
    if (v !== undefined) return v;
    if (def === undefined) throw this.missing(key);
    return def;
  }

  /**
   * An enum written as its name, which must be one of `allowed`; returned upper-cased. Envoy's
   * JSON/YAML loader parses enums with case_insensitive_enum_parsing (MessageUtil::loadFromJson,
   * source/common/protobuf/yaml_utility.cc): `strict_dns` is STRICT_DNS.
   */
  enumStr(key: string, allowed: readonly string[], def: string, numbers?: readonly number[]): string {
    if (!this.has(key)) return this.mark(key, def);
    const raw = this.raw(key);
    // Protobuf JSON also takes an enum's number; `numbers` gives each allowed name's number.
    if (typeof raw === "number" && numbers) {
      const i = numbers.indexOf(raw);
      if (i < 0) throw new EnvoyConfigError(this.at(key), `unsupported value ${raw}`);
      return allowed[i]!;
    }
    const v = this.optStr(key)!;
    const name = v.replace(/[a-z]/g, (c) => c.toUpperCase()); // absl::AsciiStrToUpper
    if (!allowed.includes(name)) throw new EnvoyConfigError(this.at(key), `unsupported value ${JSON.stringify(v)}`);
    return name;
  }

  bool(key: string, def: boolean): boolean {
    if (!this.has(key)) return this.mark(key, def);
    const v = this.raw(key);
    if (typeof v !== "boolean") throw new EnvoyConfigError(this.at(key), `expected true or false, got ${describe(v)}`);
    return v;
  }

  /** An unsigned integer; protobuf JSON also accepts it as a decimal string. */
  uint(key: string, def: number | undefined, max = 0xffff_ffff): number {
    if (!this.has(key)) {
      if (def === undefined) throw this.missing(key);
      return this.mark(key, def);
    }
    const raw = this.raw(key);
    const v = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
      throw new EnvoyConfigError(this.at(key), `expected an integer in 0..${max}, got ${describe(raw)}`);
    }
    return v;
  }

  durationMs(key: string, def: number): number {
    if (!this.has(key)) return this.mark(key, def);
    return parseDurationMs(this.raw(key), this.at(key));
  }

  optObj(key: string): ObjReader | null {
    if (!this.has(key)) return this.mark(key, null);
    return ObjReader.of(this.raw(key), this.at(key));
  }

  obj(key: string): ObjReader {
    const o = this.optObj(key);
    if (!o) throw this.missing(key);
    return o;
  }

  /** A sequence; each element comes with its path. Absent means empty. */
  arr(key: string): { value: unknown; path: string }[] {
    if (!this.has(key)) return this.mark(key, []);
    const v = this.raw(key);
    if (!Array.isArray(v)) throw new EnvoyConfigError(this.at(key), `expected a list, got ${describe(v)}`);
    return v.map((value, i) => ({ value, path: childPath(this.at(key), i) }));
  }

  strList(key: string): string[] {
    return this.arr(key).map(({ value, path }) => {
      if (typeof value !== "string") throw new EnvoyConfigError(path, `expected a string, got ${describe(value)}`);
      return value;
    });
  }

  /** The "@type" of a google.protobuf.Any, which must be one of `allowed`. */
  typeUrl(allowed: readonly string[]): string {
    const t = this.optStr("@type");
    if (t === undefined) throw new EnvoyConfigError(this.at("@type"), "required field is missing");
    if (!allowed.includes(t)) {
      throw new EnvoyConfigError(this.at("@type"), `unsupported type ${JSON.stringify(t)}; the local gateway accepts ${allowed.join(", ")}`);
    }
    return t;
  }

  /**
   * Refuses every field not read. `envoyFields` lists fields that exist in Envoy's API for
   * this message but that the local gateway does not run, for a clearer message.
   */
  done(envoyFields: readonly string[] = []): void {
    for (const k of Object.keys(this.data)) {
      if (this.used.has(k)) continue;
      if (this.data[k] === null) continue; // YAML `key:` with no value is an unset field
      if (envoyFields.includes(k)) throw new EnvoyConfigError(this.at(k), "field not supported by the local gateway");
      const near = nearName(k, this.used);
      throw new EnvoyConfigError(this.at(k), near ? `unknown field (did you mean '${near}'?)` : "unknown field");
    }
  }

  /** A required field is absent; a present field not read yet whose name is near it is probably it, misspelt. */
  missing(key: string): EnvoyConfigError {
    const typo = this.keys().find((k) => !this.used.has(k) && nearName(k, [key]) === key);
    const hint = typo ? `; '${typo}' is an unknown field here: did you mean '${key}'?` : "";
    return new EnvoyConfigError(this.at(key), `required field is missing${hint}`);
  }

  private mark<T>(key: string, v: T): T {
    this.used.add(key);
    return v;
  }
}

export function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}
