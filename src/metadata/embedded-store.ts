import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { UnavailableError } from "../types/errors.ts";
import { Version } from "../types/ids.ts";
import type { MetadataStore, MetadataWatchEvent, Precondition, VersionedValue } from "./metadata-store.ts";
import { checkPrecondition } from "./memory-store.ts";
import { LocalWatchers } from "./local-watchers.ts";

type Row = { version: number; value: Buffer };

/**
 * The single-node metadata store: one SQLite table, synchronous=FULL so a put is on disk when it
 * returns. Precondition check and write run in one transaction. Watchers are notified in-process
 * only: this store has one writer process.
 */
export class EmbeddedMetadataStore implements MetadataStore {
  private readonly db: Database.Database;
  private readonly selectStmt: Database.Statement;
  private readonly upsertStmt: Database.Statement;
  private readonly deleteStmt: Database.Statement;
  private readonly watchers = new LocalWatchers();

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec("CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, version INTEGER NOT NULL, value BLOB NOT NULL) WITHOUT ROWID");
    this.selectStmt = this.db.prepare("SELECT version, value FROM metadata WHERE key = ?");
    this.upsertStmt = this.db.prepare(
      "INSERT INTO metadata(key, version, value) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET version = excluded.version, value = excluded.value",
    );
    this.deleteStmt = this.db.prepare("DELETE FROM metadata WHERE key = ?");
  }

  async get(key: string): Promise<VersionedValue | null> {
    this.checkOpen(key);
    return this.read(key);
  }

  async put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version> {
    this.checkOpen(key);
    const next = this.db.transaction(() => {
      const current = this.read(key);
      checkPrecondition(key, current, precondition);
      const version = Version((current?.version ?? 0) + 1);
      this.upsertStmt.run(key, version, Buffer.from(value));
      return { version, value: Uint8Array.from(value) };
    })();
    this.watchers.notify(key, next);
    return next.version;
  }

  async delete(key: string, precondition: Precondition): Promise<void> {
    this.checkOpen(key);
    this.db.transaction(() => {
      checkPrecondition(key, this.read(key), precondition);
      this.deleteStmt.run(key);
    })();
    this.watchers.notify(key, null);
  }

  watch(key: string, onChange: (event: MetadataWatchEvent) => void): () => void {
    return this.watchers.add(key, onChange);
  }

  async close(): Promise<void> {
    this.watchers.clear();
    if (this.db.open) this.db.close();
  }

  private read(key: string): VersionedValue | null {
    const row = this.selectStmt.get(key) as Row | undefined;
    return row ? { version: Version(row.version), value: new Uint8Array(row.value) } : null;
  }

  private checkOpen(key: string): void {
    if (!this.db.open) throw new UnavailableError(`metadata store is closed (key '${key}')`, "metadata_store_closed");
  }

}
