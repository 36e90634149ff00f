import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import { pack, unpackBody } from "./codec.ts";

export const IDEMPOTENCY_DDL = "CREATE TABLE IF NOT EXISTS idempotency (scope TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;";

export interface IdempotencyEntry {
  readonly invocationId: InvocationId;
}

/** The invocation an idempotency key (with its target, the `scope`) resolved to. */
export interface IdempotencyRead {
  getIdempotency(scope: string): IdempotencyEntry | null;
}

export interface IdempotencyWrite {
  putIdempotency(scope: string, entry: IdempotencyEntry): void;
  deleteIdempotency(scope: string): void;
}

export function idempotencyRead(db: Database.Database): IdempotencyRead {
  const get = db.prepare<[string], Buffer>("SELECT body FROM idempotency WHERE scope = ?").pluck();
  return {
    getIdempotency: (scope) => {
      const body = get.get(scope);
      return body === undefined ? null : unpackBody<IdempotencyEntry>(db, body, "idempotency");
    },
  };
}

export function idempotencyWrite(db: Database.Database): IdempotencyWrite {
  const put = db.prepare("INSERT OR REPLACE INTO idempotency(scope, body) VALUES (?, ?)");
  const del = db.prepare("DELETE FROM idempotency WHERE scope = ?");
  return {
    putIdempotency: (scope, e) => void put.run(scope, pack(e)),
    deleteIdempotency: (scope) => void del.run(scope),
  };
}
