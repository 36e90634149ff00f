import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import type { JournalEntry } from "../../types/invocation.ts";
import type { Row } from "./codec.ts";

export const JOURNAL_DDL = `
CREATE TABLE IF NOT EXISTS journal (
  invocation_id TEXT NOT NULL, idx INTEGER NOT NULL, type INTEGER NOT NULL, appended_at INTEGER NOT NULL,
  name TEXT, payload BLOB NOT NULL, PRIMARY KEY (invocation_id, idx)) WITHOUT ROWID;`;

export interface JournalRead {
  /** The invocation's entries from index `from` on, in index order. */
  getJournal(id: InvocationId, from?: number): JournalEntry[];
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
  return {
    getJournal: (id, from = 0) => get.all(id, from).map(toEntry),
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
