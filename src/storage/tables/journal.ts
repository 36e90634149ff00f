import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import type { JournalEntry } from "../../types/invocation.ts";
import type { Row } from "./codec.ts";
import { compileScan, StatementCache, type Scan } from "./scan.ts";

export const JOURNAL_DDL = `
CREATE TABLE IF NOT EXISTS journal (
  invocation_id TEXT NOT NULL, idx INTEGER NOT NULL, type INTEGER NOT NULL, appended_at INTEGER NOT NULL,
  name TEXT, payload BLOB NOT NULL, PRIMARY KEY (invocation_id, idx)) WITHOUT ROWID;`;

/** An entry as an introspection scan returns it: its payload only when asked for, its length always. */
export interface JournalScanRow {
  readonly invocationId: InvocationId;
  readonly index: number;
  readonly type: number;
  readonly appendedAt: number;
  readonly name?: string;
  readonly length: number;
  readonly payload?: Uint8Array;
}

export type JournalScanColumn = "invocationId" | "index";

const SCAN_COLUMNS: Readonly<Record<JournalScanColumn, string>> = { invocationId: "invocation_id", index: "idx" };

export interface JournalRead {
  /** The invocation's entries from index `from` on, in index order. */
  getJournal(id: InvocationId, from?: number): JournalEntry[];
  /** For introspection: entries matching `scan` (by invocation, then index, unless ordered otherwise), read lazily. */
  scanJournal(scan: Scan<JournalScanColumn>, withPayload: boolean): IterableIterator<JournalScanRow>;
}

export interface JournalWrite {
  appendJournal(id: InvocationId, entry: JournalEntry): void;
  deleteJournal(id: InvocationId): void;
}

const toEntry = (r: Row): JournalEntry => ({
  index: r.idx as number,
  type: r.type as number,
  appendedAt: r.appended_at as number,
  payload: r.payload as Buffer,
  ...(r.name ? { name: r.name as string } : {}),
});

export function journalRead(db: Database.Database): JournalRead {
  const get = db.prepare<[InvocationId, number], Row>(
    "SELECT idx, type, appended_at, name, payload FROM journal WHERE invocation_id = ? AND idx >= ? ORDER BY idx",
  );
  const scans = new StatementCache(db);
  return {
    getJournal: (id, from = 0) => get.all(id, from).map(toEntry),
    scanJournal: function* (scan, withPayload) {
      const select = `invocation_id, idx, type, appended_at, name, length(payload) AS length${withPayload ? ", payload" : ""}`;
      const { sql, params } = compileScan(select, "journal", SCAN_COLUMNS, scan, "invocation_id, idx");
      for (const r of scans.get(sql).iterate(...params) as IterableIterator<Row>) {
        yield {
          invocationId: r.invocation_id as InvocationId,
          index: r.idx as number,
          type: r.type as number,
          appendedAt: r.appended_at as number,
          length: r.length as number,
          ...(r.name ? { name: r.name as string } : {}),
          ...(withPayload ? { payload: r.payload as Buffer } : {}),
        };
      }
    },
  };
}

export function journalWrite(db: Database.Database): JournalWrite {
  const put = db.prepare("INSERT INTO journal(invocation_id, idx, type, appended_at, name, payload) VALUES (?, ?, ?, ?, ?, ?)");
  const del = db.prepare("DELETE FROM journal WHERE invocation_id = ?");
  return {
    // SQLite copies bound blobs, so the caller's bytes are bound as they are.
    appendJournal: (id, e) => void put.run(id, e.index, e.type, e.appendedAt, e.name ?? null, e.payload),
    deleteJournal: (id) => void del.run(id),
  };
}
