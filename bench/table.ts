// Benchmark results as an aligned text table: text columns left-aligned, numbers right-aligned.

export type Cell = string | number;
export type Row = Record<string, Cell>;

function show(c: Cell): string {
  if (typeof c === "string") return c;
  if (Number.isInteger(c)) return String(c);
  return c.toFixed(Math.abs(c) >= 100 ? 0 : 2);
}

export function formatTable(rows: Row[], columns: string[] = rows.length > 0 ? Object.keys(rows[0]) : []): string {
  const cells = rows.map((r) => columns.map((c) => (r[c] === undefined ? "" : show(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => r[c] === undefined || typeof r[c] === "number"));
  const line = (vals: string[]): string =>
    vals.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join("  ").trimEnd();
  return [line(columns), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n") + "\n";
}

export function printTable(title: string, rows: Row[], columns?: string[]): void {
  process.stdout.write(`\n${title}\n${formatTable(rows, columns)}`);
}
