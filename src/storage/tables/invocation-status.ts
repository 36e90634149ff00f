import type Database from "better-sqlite3";
import type { InvocationId } from "../../types/ids.ts";
import type { InvocationStatus, InvocationStatusKind } from "../../types/invocation.ts";
import { pack, roundTripFrozen, unpackBody, type Row } from "./codec.ts";
import { InvocationStatusCache } from "./invocation-status-cache.ts";
import { compileScan, compileWhere, StatementCache, type Scan } from "./scan.ts";

/**
 * Besides the body, the columns introspection filters and sorts by (target, times, idempotency
 * key), each indexed, so a lookup or an ORDER BY ... LIMIT reads only the rows it returns.
 */
export const INVOCATION_STATUS_DDL = `
CREATE TABLE IF NOT EXISTS invocation_status (
  id TEXT PRIMARY KEY, status TEXT NOT NULL, service TEXT NOT NULL, obj_key TEXT, body BLOB NOT NULL,
  handler TEXT, created_at INTEGER, modified_at INTEGER, idempotency_key TEXT);
CREATE INDEX IF NOT EXISTS invocation_status_by_status ON invocation_status(status);`;

const INDEXES = `
CREATE INDEX IF NOT EXISTS invocation_status_by_created ON invocation_status(created_at);
CREATE INDEX IF NOT EXISTS invocation_status_by_modified ON invocation_status(modified_at);
CREATE INDEX IF NOT EXISTS invocation_status_by_target ON invocation_status(service, obj_key, handler);
CREATE INDEX IF NOT EXISTS invocation_status_by_idempotency_key ON invocation_status(idempotency_key) WHERE idempotency_key IS NOT NULL;`;

/** The indexed columns a scan may constrain or order by. */
export type InvocationScanColumn = "id" | "status" | "service" | "key" | "handler" | "createdAt" | "modifiedAt" | "idempotencyKey";

const SCAN_COLUMNS: Readonly<Record<InvocationScanColumn, string>> = {
  id: "id",
  status: "status",
  service: "service",
  key: "obj_key",
  handler: "handler",
  createdAt: "created_at",
  modifiedAt: "modified_at",
  idempotencyKey: "idempotency_key",
};

/** An invocation as a scan returns it: the indexed columns, and the whole status when asked for. */
export interface InvocationScanRow {
  readonly id: InvocationId;
  readonly status: InvocationStatusKind;
  readonly service: string;
  readonly key: string | null;
  readonly handler: string;
  readonly createdAt: number;
  readonly modifiedAt: number;
  readonly idempotencyKey: string | null;
  readonly full?: InvocationStatus;
}

export interface InvocationStatusRead {
  getInvocation(id: InvocationId): InvocationStatus | null;
  /** Ordered by id; only those in `status` when given. */
  listInvocations(status?: InvocationStatusKind): InvocationStatus[];
  /** For introspection: rows matching `scan`, read lazily; `withBody` also decodes each whole status. */
  scanInvocations(scan: Scan<InvocationScanColumn>, withBody: boolean): IterableIterator<InvocationScanRow>;
  /** For introspection: how many invocations match `where`, per distinct value of the `groupBy` columns. */
  countInvocations(where: NonNullable<Scan<InvocationScanColumn>["where"]>, groupBy: readonly InvocationCountColumn[]): InvocationCount[];
}

export type InvocationCountColumn = "service" | "key" | "handler" | "status";

/** One group of a count: the grouped columns' values (others absent) and how many invocations it holds. */
export type InvocationCount = Partial<Record<InvocationCountColumn, string | null>> & { readonly n: number };

export interface InvocationStatusWrite {
  putInvocation(status: InvocationStatus): void;
  deleteInvocation(id: InvocationId): void;
}

/** The cache of the connection that writes `db` (see `InvocationStatusCache`); other connections read without one. */
export function invocationStatusCache(db: Database.Database): InvocationStatusCache {
  return new InvocationStatusCache(pack, (body, id) => unpackBody<InvocationStatus>(db, body, `invocation ${id}`), roundTripFrozen);
}

export function invocationStatusRead(db: Database.Database, cache?: InvocationStatusCache): InvocationStatusRead {
  const get = db.prepare<[InvocationId], Buffer>("SELECT body FROM invocation_status WHERE id = ?").pluck();
  const list = db.prepare<[], Buffer>("SELECT body FROM invocation_status ORDER BY id").pluck();
  const listByStatus = db
    .prepare<[InvocationStatusKind], Buffer>("SELECT body FROM invocation_status WHERE status = ? ORDER BY id")
    .pluck();
  const decode = (body: Buffer) => unpackBody<InvocationStatus>(db, body, "invocation");
  const scans = new StatementCache(db);
  const counts = new StatementCache(db);
  return {
    getInvocation: (id) => {
      const known = cache?.get(id);
      if (known !== undefined) return known;
      const body = get.get(id);
      if (body === undefined) return null;
      return cache ? cache.remember(id, body) : unpackBody<InvocationStatus>(db, body, `invocation ${id}`);
    },
    // Queries over the table see the writes of the open transaction, as SQLite would show them.
    listInvocations: (status) => {
      cache?.flush();
      return (status ? listByStatus.all(status) : list.all()).map(decode);
    },
    scanInvocations: function* (scan, withBody) {
      cache?.flush();
      const select = `id, status, service, obj_key, handler, created_at, modified_at, idempotency_key${withBody ? ", body" : ""}`;
      const { sql, params } = compileScan(select, "invocation_status", SCAN_COLUMNS, scan, "id");
      // Rows as arrays: a scan may read every invocation, and objects per row cost more than the read.
      for (const r of scans.get(sql).raw(true).iterate(...params) as IterableIterator<unknown[]>) {
        yield {
          id: r[0] as InvocationId,
          status: r[1] as InvocationStatusKind,
          service: r[2] as string,
          key: r[3] as string | null,
          handler: r[4] as string,
          createdAt: r[5] as number,
          modifiedAt: r[6] as number,
          idempotencyKey: r[7] as string | null,
          ...(withBody ? { full: decode(r[8] as Buffer) } : {}),
        };
      }
    },
    countInvocations: (where, groupBy) => {
      cache?.flush();
      const { where: clause, params } = compileWhere(SCAN_COLUMNS, where);
      const grouped = groupBy.map((c) => SCAN_COLUMNS[c]);
      const select = [...grouped.map((c, i) => `${c} AS ${groupBy[i]}`), "count(*) AS n"].join(", ");
      const sql = `SELECT ${select} FROM invocation_status${clause}${grouped.length ? ` GROUP BY ${grouped.join(", ")}` : ""}`;
      return counts.get(sql).all(...params) as InvocationCount[];
    },
  };
}

/** Writes go through `cache` when given: written to SQLite at its `flush`, before the transaction commits. */
export function invocationStatusWrite(db: Database.Database, cache?: InvocationStatusCache): InvocationStatusWrite {
  const put = db.prepare(
    "INSERT INTO invocation_status(id, status, service, obj_key, body, handler, created_at, modified_at, idempotency_key) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET status = excluded.status, body = excluded.body, " +
      "modified_at = excluded.modified_at",
  );
  const del = db.prepare("DELETE FROM invocation_status WHERE id = ?");
  const row = {
    put: (s: InvocationStatus, body: Buffer) =>
      void put.run(s.id, s.status, s.target.service, s.target.key ?? null, body, s.target.handler, s.createdAt, s.modifiedAt, s.idempotencyKey ?? null),
    delete: (id: InvocationId) => void del.run(id),
  };
  if (cache === undefined) return { putInvocation: (s) => row.put(s, pack(s)), deleteInvocation: row.delete };
  cache.bindWriter(row);
  return { putInvocation: (s) => cache.put(s), deleteInvocation: (id) => cache.delete(id) };
}

/**
 * Brings a store written before the indexed columns existed up to date: adds them, fills them from
 * each body, then creates their indexes. A no-op on a current store.
 */
export function migrateInvocationStatus(db: Database.Database): void {
  const present = new Set((db.prepare("PRAGMA table_info(invocation_status)").all() as Row[]).map((c) => c.name as string));
  const missing = ["handler TEXT", "created_at INTEGER", "modified_at INTEGER", "idempotency_key TEXT"].filter((c) => !present.has(c.split(" ")[0]!));
  if (missing.length > 0) {
    db.transaction(() => {
      for (const column of missing) db.exec(`ALTER TABLE invocation_status ADD COLUMN ${column}`);
      const fill = db.prepare("UPDATE invocation_status SET handler = ?, created_at = ?, modified_at = ?, idempotency_key = ? WHERE id = ?");
      for (const body of db.prepare<[], Buffer>("SELECT body FROM invocation_status").pluck().all()) {
        const s = unpackBody<InvocationStatus>(db, body, "invocation");
        fill.run(s.target.handler, s.createdAt, s.modifiedAt, s.idempotencyKey ?? null, s.id);
      }
    })();
  }
  db.exec(INDEXES);
}
