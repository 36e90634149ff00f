import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import { pack, unpackBody, type Row } from "./codec.ts";

export const PROMISE_DDL = `
CREATE TABLE IF NOT EXISTS promise (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL,
  PRIMARY KEY (service, obj_key, name)) WITHOUT ROWID;`;

export interface PromiseEntry {
  readonly state: "pending" | "resolved" | "rejected";
  readonly value?: Uint8Array;
  readonly failure?: { readonly code: number; readonly message: string };
  /** Invocations waiting on the promise: (invocation id, completion id). */
  readonly waiters: readonly { readonly invocationId: InvocationId; readonly completionId: number }[];
}

/** A workflow's durable promises, by name per (service, key). */
export interface PromiseRead {
  getPromise(service: string, key: string, name: string): PromiseEntry | null;
  /** The whole table, for SQL introspection. */
  listPromises(): { service: string; key: string; name: string; entry: PromiseEntry }[];
}

export interface PromiseWrite {
  putPromise(service: string, key: string, name: string, entry: PromiseEntry): void;
  /** Drops every promise of the (service, key). */
  clearPromises(service: string, key: string): void;
}

export function promiseRead(db: Database.Database): PromiseRead {
  const get = db.prepare<[string, string, string], Buffer>("SELECT body FROM promise WHERE service = ? AND obj_key = ? AND name = ?").pluck();
  const list = db.prepare<[], Row>("SELECT service, obj_key, name, body FROM promise ORDER BY service, obj_key, name");
  return {
    getPromise: (service, key, name) => {
      const body = get.get(service, key, name);
      return body === undefined ? null : unpackBody<PromiseEntry>(db, body, "promise");
    },
    listPromises: () =>
      list.all().map((r) => ({
        service: r.service as string,
        key: r.obj_key as string,
        name: r.name as string,
        entry: unpackBody<PromiseEntry>(db, r.body as Buffer, "promise"),
      })),
  };
}

export function promiseWrite(db: Database.Database): PromiseWrite {
  const put = db.prepare("INSERT OR REPLACE INTO promise(service, obj_key, name, body) VALUES (?, ?, ?, ?)");
  const clear = db.prepare("DELETE FROM promise WHERE service = ? AND obj_key = ?");
  return {
    putPromise: (service, key, name, e) => void put.run(service, key, name, pack(e)),
    clearPromises: (service, key) => void clear.run(service, key),
  };
}
