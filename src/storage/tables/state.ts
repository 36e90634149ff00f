import type Database from "better-sqlite3";
import type { Row } from "./codec.ts";
import { compileScan, StatementCache, type Scan } from "./scan.ts";

export const STATE_DDL = `
CREATE TABLE IF NOT EXISTS state (
  service TEXT NOT NULL, obj_key TEXT NOT NULL, state_key TEXT NOT NULL, value BLOB NOT NULL,
  PRIMARY KEY (service, obj_key, state_key)) WITHOUT ROWID;`;

/** A virtual object's or workflow's state: values by state key, per (service, key). */
export interface StateRead {
  getState(service: string, key: string): Map<string, Uint8Array>;
  getStateValue(service: string, key: string, stateKey: string): Uint8Array | null;
  getStateKeys(service: string, key: string): string[];
  /** The whole table, for SQL introspection. */
  listState(): StateRow[];
  /** For introspection: entries matching `scan` (by service, key, state key unless ordered otherwise), read lazily. */
  scanState(scan: Scan<StateScanColumn>): IterableIterator<StateRow>;
}

export interface StateRow {
  readonly service: string;
  readonly key: string;
  readonly stateKey: string;
  readonly value: Uint8Array;
}

export type StateScanColumn = "service" | "key" | "stateKey";

const SCAN_COLUMNS: Readonly<Record<StateScanColumn, string>> = { service: "service", key: "obj_key", stateKey: "state_key" };

export interface StateWrite {
  setStateValue(service: string, key: string, stateKey: string, value: Uint8Array): void;
  clearStateValue(service: string, key: string, stateKey: string): void;
  clearAllState(service: string, key: string): void;
}

export function stateRead(db: Database.Database): StateRead {
  const getAll = db.prepare<[string, string], Row>(
    "SELECT state_key, value FROM state WHERE service = ? AND obj_key = ? ORDER BY state_key",
  );
  const getKeys = db
    .prepare<[string, string], string>("SELECT state_key FROM state WHERE service = ? AND obj_key = ? ORDER BY state_key")
    .pluck();
  const get = db
    .prepare<[string, string, string], Buffer>("SELECT value FROM state WHERE service = ? AND obj_key = ? AND state_key = ?")
    .pluck();
  const list = db.prepare<[], Row>("SELECT service, obj_key, state_key, value FROM state ORDER BY service, obj_key, state_key");
  const toRow = (r: Row): StateRow => ({
    service: r.service as string,
    key: r.obj_key as string,
    stateKey: r.state_key as string,
    value: r.value as Buffer,
  });
  const scans = new StatementCache(db);
  return {
    getState: (service, key) => new Map(getAll.all(service, key).map((r) => [r.state_key as string, r.value as Buffer])),
    getStateValue: (service, key, stateKey) => get.get(service, key, stateKey) ?? null,
    getStateKeys: (service, key) => getKeys.all(service, key),
    listState: () => list.all().map(toRow),
    scanState: function* (scan) {
      const { sql, params } = compileScan("service, obj_key, state_key, value", "state", SCAN_COLUMNS, scan, "service, obj_key, state_key");
      for (const r of scans.get(sql).iterate(...params) as IterableIterator<Row>) yield toRow(r);
    },
  };
}

export function stateWrite(db: Database.Database): StateWrite {
  const put = db.prepare(
    "INSERT INTO state(service, obj_key, state_key, value) VALUES (?, ?, ?, ?) " +
      "ON CONFLICT(service, obj_key, state_key) DO UPDATE SET value = excluded.value",
  );
  const del = db.prepare("DELETE FROM state WHERE service = ? AND obj_key = ? AND state_key = ?");
  const delAll = db.prepare("DELETE FROM state WHERE service = ? AND obj_key = ?");
  return {
    setStateValue: (service, key, stateKey, value) => void put.run(service, key, stateKey, value),
    clearStateValue: (service, key, stateKey) => void del.run(service, key, stateKey),
    clearAllState: (service, key) => void delAll.run(service, key),
  };
}
