import { deserialize, serialize } from "node:v8";
import { RepriseError } from "../../types/errors.ts";
import type { RowSink } from "./load.ts";
import { isTableName, type RowOf, type TableName } from "./tables.ts";

type RowEntry = readonly [TableName, RowOf<TableName>];

/**
 * Rows loaded on one node for a query that runs on another, in the order they were loaded. V8's
 * serialization keeps what JSON would lose (64-bit integers as bigints, blobs as bytes); the nodes
 * of a cluster run the same release.
 */
export class RowList implements RowSink {
  private readonly entries: RowEntry[] = [];

  append<T extends TableName>(table: T, row: RowOf<T>): void {
    this.entries.push([table, row as RowOf<TableName>]);
  }

  encode(): Uint8Array {
    return serialize(this.entries);
  }
}

/** Appends rows another node loaded (`RowList.encode`) to `sink`. */
export function appendRows(sink: RowSink, encoded: Uint8Array): void {
  const entries: unknown = deserialize(encoded);
  if (!Array.isArray(entries)) throw new RepriseError("query_failed", "rows from another node are not a list", false, 500);
  for (const entry of entries as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || !isTableName(entry[0])) {
      throw new RepriseError("query_failed", `rows from another node name no known table (${JSON.stringify(Array.isArray(entry) ? entry[0] : entry)})`, false, 500);
    }
    sink.append(entry[0], entry[1] as RowOf<TableName>);
  }
}
