import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import type { InvocationStatus, InvocationStatusKind } from "../../types/invocation.ts";
import { pack, unpackBody } from "./codec.ts";

export const INVOCATION_STATUS_DDL = `
CREATE TABLE IF NOT EXISTS invocation_status (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, service TEXT NOT NULL, obj_key TEXT, body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS invocation_status_by_status ON invocation_status(status);`;

export interface InvocationStatusRead {
  getInvocation(id: InvocationId): InvocationStatus | null;
  /** Ordered by id; only those in `status` when given. */
  listInvocations(status?: InvocationStatusKind): InvocationStatus[];
}

export interface InvocationStatusWrite {
  putInvocation(status: InvocationStatus): void;
  deleteInvocation(id: InvocationId): void;
}

export function invocationStatusRead(db: Database.Database): InvocationStatusRead {
  const get = db.prepare<[InvocationId], Buffer>("SELECT body FROM invocation_status WHERE id = ?").pluck();
  const list = db.prepare<[], Buffer>("SELECT body FROM invocation_status ORDER BY id").pluck();
  const listByStatus = db
    .prepare<[InvocationStatusKind], Buffer>("SELECT body FROM invocation_status WHERE status = ? ORDER BY id")
    .pluck();
  const decode = (body: Buffer) => unpackBody<InvocationStatus>(db, body, "invocation");
  return {
    getInvocation: (id) => {
      const body = get.get(id);
      return body === undefined ? null : unpackBody<InvocationStatus>(db, body, `invocation ${id}`);
    },
    listInvocations: (status) => (status ? listByStatus.all(status) : list.all()).map(decode),
  };
}

export function invocationStatusWrite(db: Database.Database): InvocationStatusWrite {
  const put = db.prepare(
    "INSERT INTO invocation_status(id, status, service, obj_key, body) VALUES (?, ?, ?, ?, ?) " +
      "ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body",
  );
  const del = db.prepare("DELETE FROM invocation_status WHERE id = ?");
  return {
    putInvocation: (s) => void put.run(s.id, s.status, s.target.service, s.target.key ?? null, pack(s)),
    deleteInvocation: (id) => void del.run(id),
  };
}
