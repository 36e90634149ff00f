import type Database from "better-sqlite3";
import { TableScanError } from "../errors.ts";
import type { Row } from "./codec.ts";

/**
 * Every table of the store as SQLite holds it, row by row in primary-key order, whatever the table
 * modules make of the columns: for comparing two stores whole (`compareStores`).
 */
export interface TableRowsRead {
  /** The store's tables, by name. */
  tableNames(): string[];
  /** The table's primary-key columns, in key order. */
  primaryKey(table: string): string[];
  /** Every row of `table`, in primary-key order, columns by name. */
  tableRows(table: string): IterableIterator<Row>;
}

export function tableRowsRead(db: Database.Database): TableRowsRead {
  const names = db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck();
  const keyColumns = db.prepare<[string], string>("SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk").pluck();
  const scans = new Map<string, Database.Statement<[], Row>>();
  const primaryKey = (table: string): string[] => {
    const key = keyColumns.all(table);
    if (key.length === 0) throw new TableScanError(db.name, `table ${table} has no primary key to order its rows by`);
    return key;
  };
  return {
    tableNames: () => names.all(),
    primaryKey,
    tableRows: (table) => {
      let scan = scans.get(table);
      if (scan === undefined) {
        // Names come from the schema itself, never from a caller's text, and are quoted anyway.
        if (!names.all().includes(table)) throw new TableScanError(db.name, `no table ${table}`);
        const order = primaryKey(table).map(quoteIdentifier).join(", ");
        scan = db.prepare<[], Row>(`SELECT * FROM ${quoteIdentifier(table)} ORDER BY ${order}`);
        scans.set(table, scan);
      }
      return scan.iterate();
    },
  };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
