// Reads the parts of a Wasm binary a host must check before linking: function types,
// imports (with their signatures) and exports. Node's WebAssembly.instantiate never checks
// a host function's signature, so the host reads them here, as V8-in-Envoy's linker does.

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";

export interface FuncType {
  params: ValType[];
  results: ValType[];
}

export type ExternKind = "func" | "table" | "memory" | "global";

export interface ImportEntry {
  module: string;
  name: string;
  kind: ExternKind;
  type: FuncType | null; // for functions
}

export interface ExportEntry {
  name: string;
  kind: ExternKind;
  type: FuncType | null; // for functions
}

export interface ModuleInfo {
  imports: ImportEntry[];
  exports: ExportEntry[];
}

export class WasmParseError extends Error {}

const VALTYPES: Record<number, ValType> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};
const KINDS: ExternKind[] = ["func", "table", "memory", "global"];

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array, readonly end = b.length) {}
  byte(): number {
    if (this.pos >= this.end) throw new WasmParseError("unexpected end of section");
    return this.b[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 35) throw new WasmParseError("LEB128 too long");
    }
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.end) throw new WasmParseError("unexpected end of section");
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  name(): string {
    return new TextDecoder("utf-8", { fatal: false }).decode(this.bytes(this.u32()));
  }
  valtype(): ValType {
    const t = VALTYPES[this.byte()];
    if (!t) throw new WasmParseError("unknown value type");
    return t;
  }
  limits(): void {
    const flags = this.u32();
    this.u32();
    if (flags & 1) this.u32();
  }
}

export function parseModule(bytes: Uint8Array): ModuleInfo {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmParseError("not a Wasm binary (bad magic)");
  }
  const types: FuncType[] = [];
  const imports: ImportEntry[] = [];
  const funcTypeIndices: number[] = []; // imported functions first, then defined ones
  const rawExports: { name: string; kind: ExternKind; index: number }[] = [];

  const top = new Reader(bytes);
  top.pos = 8;
  while (top.pos < bytes.length) {
    const id = top.byte();
    const size = top.u32();
    const start = top.pos;
    const r = new Reader(bytes, start + size);
    r.pos = start;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new WasmParseError("bad function type");
        const params = Array.from({ length: r.u32() }, () => r.valtype());
        const results = Array.from({ length: r.u32() }, () => r.valtype());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = KINDS[r.byte()];
        if (!kind) throw new WasmParseError("bad import kind");
        let type: FuncType | null = null;
        if (kind === "func") {
          const ti = r.u32();
          type = types[ti] ?? null;
          funcTypeIndices.push(ti);
        } else if (kind === "table") {
          r.byte();
          r.limits();
        } else if (kind === "memory") {
          r.limits();
        } else {
          r.valtype();
          r.byte();
        }
        imports.push({ module, name, kind, type });
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypeIndices.push(r.u32());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = KINDS[r.byte()];
        if (!kind) throw new WasmParseError("bad export kind");
        rawExports.push({ name, kind, index: r.u32() });
      }
    }
    top.pos = start + size;
  }
  const exports = rawExports.map(({ name, kind, index }) => ({
    name,
    kind,
    type: kind === "func" ? (types[funcTypeIndices[index] ?? -1] ?? null) : null,
  }));
  return { imports, exports };
}

export function formatValTypes(t: ValType[]): string {
  return t.length === 0 ? "void" : t.join(" ");
}
