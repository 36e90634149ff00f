import type Database from "better-sqlite3";
import type { Row } from "./codec.ts";

export const OUTBOX_DDL = "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, message BLOB NOT NULL);";

export interface OutboxEntry {
  readonly seq: number;
  readonly message: Uint8Array;
}

/** Messages for other partitions, kept until the leader has shipped them. */
export interface OutboxRead {
  listOutbox(): OutboxEntry[];
}

export interface OutboxWrite {
  putOutbox(entry: OutboxEntry): void;
  deleteOutbox(seq: number): void;
}

export function outboxRead(db: Database.Database): OutboxRead {
  const list = db.prepare<[], Row>("SELECT seq, message FROM outbox ORDER BY seq");
  return {
    listOutbox: () => list.all().map((r) => ({ seq: r.seq as number, message: r.message as Buffer })),
  };
}

export function outboxWrite(db: Database.Database): OutboxWrite {
  const put = db.prepare("INSERT INTO outbox(seq, message) VALUES (?, ?)");
  const del = db.prepare("DELETE FROM outbox WHERE seq = ?");
  return {
    putOutbox: (e) => void put.run(e.seq, e.message),
    deleteOutbox: (seq) => void del.run(seq),
  };
}
