import type { Row } from "./tables/codec.ts";
import type { TableRowsRead } from "./tables/table-rows.ts";

/** Where two stores first disagree: a table only one has, or a row (by primary key) that differs. */
export type StoreDifference =
  | { readonly kind: "table"; readonly table: string; readonly onlyIn: "left" | "right" }
  | {
      readonly kind: "row";
      readonly table: string;
      /** The row's primary key, column by column. */
      readonly key: Readonly<Record<string, unknown>>;
      /** The row in each store; null where it is missing. */
      readonly left: Row | null;
      readonly right: Row | null;
      /** Columns whose values differ; every column when one side has no such row. */
      readonly columns: readonly string[];
    };

/**
 * Compares every table of two stores, row by row in key order, and returns the first difference
 * (tables by name, rows by key), or null when they hold the same bytes in every column.
 */
export function compareStores(left: TableRowsRead, right: TableRowsRead): StoreDifference | null {
  const leftTables = left.tableNames();
  const rightTables = new Set(right.tableNames());
  for (const table of [...new Set([...leftTables, ...rightTables])].sort()) {
    if (!rightTables.has(table)) return { kind: "table", table, onlyIn: "left" };
    if (!leftTables.includes(table)) return { kind: "table", table, onlyIn: "right" };
    const difference = compareTable(table, left.primaryKey(table), left.tableRows(table), right.tableRows(table));
    if (difference) return difference;
  }
  return null;
}

function compareTable(table: string, key: readonly string[], left: Iterator<Row>, right: Iterator<Row>): StoreDifference | null {
  let l = left.next();
  let r = right.next();
  try {
    while (!l.done || !r.done) {
      const order = l.done ? 1 : r.done ? -1 : compareKeys(key, l.value, r.value);
      if (order !== 0) {
        const only = order < 0 ? (l.value as Row) : (r.value as Row);
        return {
          kind: "row",
          table,
          key: keyOf(key, only),
          left: order < 0 ? only : null,
          right: order < 0 ? null : only,
          columns: Object.keys(only),
        };
      }
      const columns = differingColumns(l.value as Row, r.value as Row);
      if (columns.length > 0) return { kind: "row", table, key: keyOf(key, l.value as Row), left: l.value as Row, right: r.value as Row, columns };
      l = left.next();
      r = right.next();
    }
    return null;
  } finally {
    // Stops both statements early when a difference ends the walk.
    left.return?.();
    right.return?.();
  }
}

function keyOf(key: readonly string[], row: Row): Record<string, unknown> {
  return Object.fromEntries(key.map((c) => [c, row[c]]));
}

function differingColumns(a: Row, b: Row): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((c) => compareValues(a[c], b[c]) !== 0);
}

function compareKeys(key: readonly string[], a: Row, b: Row): number {
  for (const column of key) {
    const order = compareValues(a[column], b[column]);
    if (order !== 0) return order;
  }
  return 0;
}

/** SQLite's order for its default (BINARY) collation: NULL, numbers, text (UTF-8 bytes), blobs (bytes). */
function compareValues(a: unknown, b: unknown): number {
  const rank = (v: unknown): number => (v === null || v === undefined ? 0 : typeof v === "number" || typeof v === "bigint" ? 1 : typeof v === "string" ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
    case 2:
      return Buffer.compare(Buffer.from(a as string, "utf8"), Buffer.from(b as string, "utf8"));
    default:
      return Buffer.compare(a as Uint8Array, b as Uint8Array);
  }
}

/** A value as an SQL literal, blobs as x'..' cut after `maxBlobBytes`: for naming a row to an operator. */
export function sqlLiteral(v: unknown, maxBlobBytes = 32): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  if (typeof v === "string") return `'${v.replaceAll("'", "''")}'`;
  const bytes = Buffer.from(v as Uint8Array);
  const hex = bytes.subarray(0, maxBlobBytes).toString("hex");
  return bytes.length > maxBlobBytes ? `x'${hex}'… (${bytes.length} bytes)` : `x'${hex}'`;
}

/** One line naming the difference, `names` saying which store is which. */
export function describeDifference(d: StoreDifference, names: { readonly left: string; readonly right: string }): string {
  if (d.kind === "table") return `table ${d.table} exists only in the ${names[d.onlyIn]} store`;
  const key = Object.entries(d.key)
    .map(([c, v]) => `${c}=${sqlLiteral(v)}`)
    .join(", ");
  const row = `table ${d.table}, row (${key})`;
  if (d.left === null) return `${row}: only in the ${names.right} store`;
  if (d.right === null) return `${row}: only in the ${names.left} store`;
  const columns = d.columns.map((c) => `${c}: ${names.left} ${sqlLiteral(d.left![c])}, ${names.right} ${sqlLiteral(d.right![c])}`);
  return `${row}: ${columns.join("; ")}`;
}
