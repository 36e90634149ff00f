import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import type { Row } from "./codec.ts";

export const KEY_LOCK_DDL = `
CREATE TABLE IF NOT EXISTS key_lock (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, invocation_id TEXT NOT NULL, PRIMARY KEY (service, obj_key)) WITHOUT ROWID;`;

/** Which invocation holds the exclusive lock on a (service, key). */
export interface KeyLockRead {
  getKeyLock(service: string, key: string): InvocationId | null;
  /** The whole table, for SQL introspection. */
  listKeyLocks(): { service: string; key: string; invocationId: InvocationId }[];
}

export interface KeyLockWrite {
  /** `null` releases the lock. */
  setKeyLock(service: string, key: string, id: InvocationId | null): void;
}

export function keyLockRead(db: Database.Database): KeyLockRead {
  const get = db
    .prepare<[string, string], InvocationId>("SELECT invocation_id FROM key_lock WHERE service = ? AND obj_key = ?")
    .pluck();
  const list = db.prepare<[], Row>("SELECT service, obj_key, invocation_id FROM key_lock ORDER BY service, obj_key");
  return {
    getKeyLock: (service, key) => get.get(service, key) ?? null,
    listKeyLocks: () =>
      list.all().map((r) => ({
        service: r.service as string,
        key: r.obj_key as string,
        invocationId: r.invocation_id as InvocationId,
      })),
  };
}

export function keyLockWrite(db: Database.Database): KeyLockWrite {
  const put = db.prepare(
    "INSERT INTO key_lock(service, obj_key, invocation_id) VALUES (?, ?, ?) " +
      "ON CONFLICT(service, obj_key) DO UPDATE SET invocation_id = excluded.invocation_id",
  );
  const del = db.prepare("DELETE FROM key_lock WHERE service = ? AND obj_key = ?");
  return {
    setKeyLock: (service, key, id) => void (id === null ? del.run(service, key) : put.run(service, key, id)),
  };
}
