import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import type { Row } from "./codec.ts";

export const INBOX_DDL = `
CREATE TABLE IF NOT EXISTS inbox (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, seq INTEGER NOT NULL, invocation_id TEXT NOT NULL,
  PRIMARY KEY (service, obj_key, seq)) WITHOUT ROWID;`;

export interface InboxEntry {
  readonly seq: number;
  readonly invocationId: InvocationId;
}

/** Invocations queued behind a (service, key)'s lock, in arrival order. */
export interface InboxRead {
  /** The oldest queued invocation, or null. */
  peekInbox(service: string, key: string): InboxEntry | null;
  /** Every queue, for SQL introspection. */
  listInbox(): (InboxEntry & { service: string; key: string })[];
}

export interface InboxWrite {
  pushInbox(service: string, key: string, id: InvocationId, seq: number): void;
  popInbox(service: string, key: string, seq: number): void;
}

export function inboxRead(db: Database.Database): InboxRead {
  const peek = db.prepare<[string, string], Row>(
    "SELECT seq, invocation_id FROM inbox WHERE service = ? AND obj_key = ? ORDER BY seq LIMIT 1",
  );
  const list = db.prepare<[], Row>("SELECT service, obj_key, seq, invocation_id FROM inbox ORDER BY service, obj_key, seq");
  return {
    peekInbox: (service, key) => {
      const r = peek.get(service, key);
      return r ? { seq: r.seq as number, invocationId: r.invocation_id as InvocationId } : null;
    },
    listInbox: () =>
      list.all().map((r) => ({
        service: r.service as string,
        key: r.obj_key as string,
        seq: r.seq as number,
        invocationId: r.invocation_id as InvocationId,
      })),
  };
}

export function inboxWrite(db: Database.Database): InboxWrite {
  const put = db.prepare("INSERT INTO inbox(service, obj_key, seq, invocation_id) VALUES (?, ?, ?, ?)");
  const del = db.prepare("DELETE FROM inbox WHERE service = ? AND obj_key = ? AND seq = ?");
  return {
    pushInbox: (service, key, id, seq) => void put.run(service, key, seq, id),
    popInbox: (service, key, seq) => void del.run(service, key, seq),
  };
}
