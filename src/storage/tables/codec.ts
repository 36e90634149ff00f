import type Database from "better-sqlite3";
import { Packr } from "msgpackr";
import { CorruptionError, errorMessage } from "../../types/errors.ts";

/** Values are msgpack; a separate instance so its options never depend on another module's. */
const packr = new Packr({ useRecords: false, moreTypes: false });

export const pack = (v: unknown): Buffer => packr.pack(v);

/** A body that does not decode means the store file is damaged, which no retry can fix. */
export function unpackBody<T>(db: Database.Database, body: Buffer, what: string): T {
  try {
    return packr.unpack(body) as T;
  } catch (e) {
    throw new CorruptionError(`cannot decode ${what} in ${db.name}: ${errorMessage(e)}`);
  }
}

/** A result row of a multi-column statement, columns by name. */
export type Row = Record<string, unknown>;
