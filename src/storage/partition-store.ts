import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { CorruptionError } from "../types/errors.ts";
import type { Lsn } from "../types/ids.ts";
import { SnapshotUnsupportedError } from "./errors.ts";
import { SnapshotReaders, type StoreSnapshot } from "./snapshot.ts";
import type { InvocationStatusCache } from "./tables/invocation-status-cache.ts";
import { invocationStatusCache } from "./tables/invocation-status.ts";
import { migrateStore, PARTITION_STORE_SCHEMA, prepareReadTxn, prepareWriteTxn, type ReadTxn, type WriteTxn } from "./txn.ts";
import { WalCheckpointer, type CheckpointedStore } from "./wal-checkpointer.ts";

export type { ReadTxn, WriteTxn } from "./txn.ts";
export type { StoreSnapshot } from "./snapshot.ts";
export type { IdempotencyEntry } from "./tables/idempotency.ts";
export type { InboxEntry } from "./tables/inbox.ts";
export type { OutboxEntry } from "./tables/outbox.ts";
export type { PromiseEntry } from "./tables/promise.ts";
export type { ColumnConstraint, Scan, ScanOrder, ScanValue } from "./tables/scan.ts";
export type { InvocationCount, InvocationCountColumn, InvocationScanColumn, InvocationScanRow } from "./tables/invocation-status.ts";
export type { JournalScanColumn, JournalScanRow } from "./tables/journal.ts";
export type { StateRow, StateScanColumn } from "./tables/state.ts";
export type { TimerEntry, TimerKind } from "./tables/timer.ts";

/** The store as everything above the partition processor sees it: reads only. */
export interface ReadOnlyPartitionStore {
  readonly path: string;
  /** Runs `fn` against one consistent view; see `PartitionStore.read`. */
  read<T>(fn: (tx: ReadTxn) => T): T;
  /** A view that stays consistent across awaits; see `PartitionStore.openSnapshot`. */
  openSnapshot(): StoreSnapshot;
}

/** Snapshots of a store file that another connection (or thread) writes; what SQL's worker threads read. */
export interface StoreFileReader {
  openSnapshot(): StoreSnapshot;
  close(): void;
}

/** Read-only access to the store file at `path`, which must exist; it never writes, migrates or creates. */
export function openStoreFile(path: string): StoreFileReader {
  const readers = new SnapshotReaders(path);
  return { openSnapshot: () => readers.open(), close: () => readers.close() };
}

/** Where a node keeps its replica of a partition's store. */
export function partitionStorePath(baseDir: string, partition: number): string {
  return join(baseDir, "partitions", `p${partition}.sqlite`);
}

/** The read side of a store file that a `PartitionStore` on another thread writes. */
export interface StoreReader extends ReadOnlyPartitionStore {
  close(): void;
}

/**
 * Reads of a store file that a `PartitionStore` on another thread of the process writes (a
 * partition thread's), on a read-only connection of this one: each `read` is one SQLite read
 * transaction, so it sees every commit made before it began and nothing half-applied. No status
 * cache: the writer's commits would make it stale at once.
 */
export function openStoreReader(path: string): StoreReader {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const tx = prepareReadTxn(db);
  const inTransaction = db.transaction((fn: (tx: ReadTxn) => unknown) => fn(tx));
  const snapshots = new SnapshotReaders(path);
  return Object.freeze({
    path,
    read: <T>(fn: (tx: ReadTxn) => T): T => (db.inTransaction ? fn(tx) : (inTransaction.deferred(fn as (tx: ReadTxn) => unknown) as T)),
    openSnapshot: () => snapshots.open(),
    close: () => {
      snapshots.close();
      db.close();
    },
  });
}

/**
 * The partition store: a materialised view of one partition's log up to `appliedLsn`, in SQLite.
 * Durability comes from the log, so the store uses synchronous=NORMAL (a crash may lose the newest
 * commits, which are replayed); `persist` makes everything so far durable where the log is to be
 * trimmed. `appliedLsn` is written in the same transaction as the changes it covers, so after a
 * crash the processor resumes from it.
 */
/** Free pages that make a write give space back to the file system, and how many it gives back at most. */
const RECLAIM_ABOVE_FREE_PAGES = 256;
const RECLAIM_PAGES_PER_WRITE = 1024;
/**
 * A WAL file bigger than this is cut back once its store is idle. Not the writer's
 * journal_size_limit: that truncates the file in the commit after a restart, and freeing tens of
 * MiB took 40-80 ms of a commit here.
 */
const WAL_SIZE_LIMIT_BYTES = 4 * 1024 * 1024;
/** The most WAL a store keeps under a load that never pauses long enough for a checkpoint to catch up. */
const WAL_RESTART_BYTES = 64 * 1024 * 1024;
/** SQLite's own checkpoint threshold (pages), which the writer goes back to if the checkpoint thread fails. */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;
/**
 * How often the checkpoint thread looks at each store. Each look that finds commits pays two
 * fsyncs and copies every page written since the last, however often the same hot pages (the
 * fsm row, recent statuses) were rewritten: at 100 ms the thread took 0.2-0.4 ms of CPU per
 * single-step invocation under the engine bench (4 stores), at 1 s a fifth of that. The WAL then
 * holds about a second of writes, a few MiB, as SQLite's own 1000-page threshold would.
 */
const CHECKPOINT_INTERVAL_MS = 1_000;
/** Every file store of the process is checkpointed by this one thread unless a test passes its own. */
const SHARED_CHECKPOINTER = new WalCheckpointer({ intervalMs: CHECKPOINT_INTERVAL_MS, walSizeLimitBytes: WAL_SIZE_LIMIT_BYTES, walRestartBytes: WAL_RESTART_BYTES });

export interface PartitionStoreOptions {
  /** Who checkpoints the WAL; the process-wide thread by default. */
  readonly checkpointer?: WalCheckpointer;
}

export class PartitionStore implements ReadOnlyPartitionStore {
  /** A separate object with only the read side, so no cast turns a reader's store into a writer's. */
  readonly readOnly: ReadOnlyPartitionStore;
  private readonly db: Database.Database;
  private readonly readTxn: ReadTxn;
  /** Invocation statuses between the apply path and SQLite, written at the end of each write transaction. */
  private readonly statuses: InvocationStatusCache;
  // Built once: better-sqlite3 compiles BEGIN/COMMIT statements per wrapper.
  private readonly runWrite: (fn: (tx: WriteTxn) => unknown) => unknown;
  private readonly runRead: { deferred: (fn: (tx: ReadTxn) => unknown) => unknown };
  private readonly snapshots: SnapshotReaders;
  private readonly freePages: Database.Statement<[], number>;
  private readonly dataVersion: Database.Statement<[], number>;
  /** SQLite's data_version when last looked: it changes only when another connection commits. */
  private seenDataVersion: number;
  /** The thread that checkpoints this store's WAL; null for an in-memory store (no WAL). */
  private readonly checkpoints: CheckpointedStore | null;

  constructor(
    readonly path: string,
    options: PartitionStoreOptions = {},
  ) {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    useIncrementalVacuum(this.db);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(PARTITION_STORE_SCHEMA);
    migrateStore(this.db);
    // Apply never pays for a checkpoint: they run on the checkpoint thread (storage/wal-checkpointer.ts).
    this.checkpoints = this.db.memory ? null : this.checkpointElsewhere(options.checkpointer ?? SHARED_CHECKPOINTER);
    this.statuses = invocationStatusCache(this.db);
    this.readTxn = prepareReadTxn(this.db, this.statuses);
    const writeTxn = prepareWriteTxn(this.db, this.readTxn, this.statuses);
    // IMMEDIATE: the checkpoint thread takes the writer's lock for a moment now and then. A
    // deferred transaction that has read already fails at its first write while the lock is
    // held (SQLite calls no busy handler there); an immediate one waits for it at BEGIN.
    // The pragmas run inside the transaction: outside one, each is a read transaction of its own
    // (WAL read lock, wal-index header), about 15 us apiece here, against under 1 us inside.
    this.runWrite = this.db.transaction((fn: (tx: WriteTxn) => unknown) => {
      this.noticeOtherWriters();
      const result = fn(writeTxn);
      this.statuses.flush();
      if (this.freePages.get()! > RECLAIM_ABOVE_FREE_PAGES) this.db.pragma(`incremental_vacuum(${RECLAIM_PAGES_PER_WRITE})`);
      return result;
    }).immediate;
    this.runRead = this.db.transaction((fn: (tx: ReadTxn) => unknown) => {
      this.noticeOtherWriters();
      return fn(this.readTxn);
    });
    this.snapshots = new SnapshotReaders(path);
    this.freePages = this.db.prepare<[], number>("PRAGMA freelist_count").pluck();
    this.dataVersion = this.db.prepare<[], number>("PRAGMA data_version").pluck();
    this.seenDataVersion = this.dataVersion.get()!;
    this.readOnly = Object.freeze({
      path,
      read: <T>(fn: (tx: ReadTxn) => T): T => this.read(fn),
      openSnapshot: () => this.openSnapshot(),
    });
  }

  /**
   * Runs `fn` inside one write transaction; all changes and the applied LSN commit together. Space
   * that deletions (retention, purges) freed is handed back to the file system in the same
   * commit, a bounded amount per write, so the file shrinks instead of keeping its largest size.
   */
  write<T>(fn: (tx: WriteTxn) => T): T {
    let result: T;
    try {
      result = this.runWrite(fn as (tx: WriteTxn) => unknown) as T;
    } catch (e) {
      this.statuses.rolledBack();
      throw e;
    }
    this.checkpoints?.committed();
    return result;
  }

  private checkpointElsewhere(checkpointer: WalCheckpointer): CheckpointedStore {
    this.db.pragma("wal_autocheckpoint = 0");
    return checkpointer.watch(this.path, "NORMAL", (reason) => {
      if (!this.db.open) return;
      // Without the thread the WAL would grow for good: commits checkpoint again, as SQLite does by default.
      this.db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`);
      process.emitWarning(`partition store ${this.path}: ${reason}; its commits checkpoint the WAL again`, { code: "REPRISE_WAL_CHECKPOINTS" });
    });
  }

  /**
   * Runs `fn` against one consistent snapshot. `fn` is synchronous, so no apply can interleave,
   * and SQLite's read transaction keeps the view stable for the whole call.
   */
  read<T>(fn: (tx: ReadTxn) => T): T {
    if (this.db.inTransaction) return fn(this.readTxn);
    return this.runRead.deferred(fn as (tx: ReadTxn) => unknown) as T;
  }

  /**
   * The statuses remembered are what this connection committed: a commit by another (a tool, a
   * test) makes them stale. Asked at the start of each transaction, so the answer is about the
   * snapshot the transaction reads.
   */
  private noticeOtherWriters(): void {
    const version = this.dataVersion.get()!;
    if (version === this.seenDataVersion) return;
    this.seenDataVersion = version;
    this.statuses.clear();
  }

  /**
   * Opens a read transaction on a separate read-only connection: it keeps seeing the store as of
   * now while later writes commit, until `release()`. For reads that span awaits; a file store only.
   */
  openSnapshot(): StoreSnapshot {
    if (this.db.memory) throw new SnapshotUnsupportedError(this.path);
    return this.snapshots.open();
  }

  /**
   * Makes every commit so far survive a crash and returns the applied LSN that now does. A commit
   * under synchronous=FULL syncs the WAL, which holds every earlier commit a checkpoint has not
   * copied yet (a checkpoint syncs the database file it copies to). That commit must write a page
   * (SQLite skips rewriting a row with its own value), so it adds and removes a probe row. One
   * fsync, so callers do it now and then (before a trim).
   */
  persist(): Lsn {
    this.db.pragma("synchronous = FULL");
    try {
      return this.write((tx) => {
        this.db.exec("INSERT INTO fsm(name, value) VALUES ('durability_probe', 0); DELETE FROM fsm WHERE name = 'durability_probe';");
        return tx.appliedLsn();
      });
    } finally {
      this.db.pragma("synchronous = NORMAL");
    }
  }

  /**
   * Replaces everything in the store by the content of `file`, a store file of the same schema (an
   * exported snapshot), in one write transaction: readers see the old store or the new one, never
   * a mix. Returns the applied LSN the new content brings.
   */
  install(file: string): Lsn {
    this.db.prepare("ATTACH DATABASE ? AS incoming").run(file);
    try {
      const mine = this.tableColumns("main");
      const theirs = this.tableColumns("incoming");
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) {
        throw new CorruptionError(`store file ${file} does not have this store's tables and columns`, "store_schema_mismatch");
      }
      return this.write((tx) => {
        for (const [table, columns] of Object.entries(mine)) {
          const list = columns.map((c) => `"${c}"`).join(", ");
          this.db.exec(`DELETE FROM main."${table}"; INSERT INTO main."${table}" (${list}) SELECT ${list} FROM incoming."${table}";`);
        }
        // The statuses remembered so far are the old store's.
        this.statuses.clear();
        return tx.appliedLsn();
      });
    } finally {
      this.db.exec("DETACH DATABASE incoming");
    }
  }

  /** Every table of an attached schema and its column names, sorted: what `install` compares. */
  private tableColumns(schema: "main" | "incoming"): Record<string, string[]> {
    const tables = this.db
      .prepare<[], string>(`SELECT name FROM ${schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .pluck()
      .all();
    const columns = this.db.prepare<[string, string], string>("SELECT name FROM pragma_table_info(?, ?) ORDER BY name").pluck();
    return Object.fromEntries(tables.map((t) => [t, columns.all(t, schema)]));
  }

  close(): void {
    this.snapshots.close();
    this.checkpoints?.close();
    this.db.close();
  }
}

/**
 * Keeps freed pages reclaimable (`incremental_vacuum`). SQLite fixes the mode when the first table
 * is created, so a store created without it is rebuilt once (VACUUM) to switch.
 */
function useIncrementalVacuum(db: Database.Database): void {
  const INCREMENTAL = 2;
  if (db.pragma("auto_vacuum", { simple: true }) === INCREMENTAL) return;
  db.pragma("auto_vacuum = INCREMENTAL");
  if (db.pragma("auto_vacuum", { simple: true }) !== INCREMENTAL) db.exec("VACUUM");
}
