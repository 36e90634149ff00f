import type Database from "better-sqlite3";
import type { Row } from "./codec.ts";

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
  listState(): { service: string; key: string; stateKey: string; value: Uint8Array }[];
}

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
  return {
    getState: (service, key) => new Map(getAll.all(service, key).map((r) => [r.state_key as string, r.value as Buffer])),
    getStateValue: (service, key, stateKey) => get.get(service, key, stateKey) ?? null,
    getStateKeys: (service, key) => getKeys.all(service, key),
    listState: () =>
      list.all().map((r) => ({
        service: r.service as string,
        key: r.obj_key as string,
        stateKey: r.state_key as string,
        value: r.value as Buffer,
      })),
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
