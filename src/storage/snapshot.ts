import Database from "better-sqlite3";
import { UnavailableError } from "../types/errors.ts";
import { SnapshotReleasedError } from "./errors.ts";
import { prepareReadTxn, type ReadTxn } from "./txn.ts";

/**
 * A read transaction on its own connection: it sees the store as of one applied LSN for as long as
 * it is held, across awaits, while the processor keeps committing (WAL readers never block the
 * writer). Hold it briefly: the WAL cannot be checkpointed past an open snapshot.
 */
export interface StoreSnapshot extends ReadTxn {
  /** Ends the read transaction. Every later read throws `SnapshotReleasedError`; releasing again does nothing. */
  release(): void;
}

/** A read-only connection with its statements prepared once, reused by one snapshot after another. */
interface Reader {
  readonly db: Database.Database;
  readonly tx: ReadTxn;
  /** What a snapshot answers once released: every method of `tx`, throwing. */
  readonly released: ReadTxn;
  readonly begin: Database.Statement;
  readonly end: Database.Statement;
}

/** Idle readers kept for reuse; more concurrent snapshots than this open connections that are closed on release. */
const MAX_IDLE_READERS = 4;

/** Read-only connections to one store file, each holding at most one open snapshot. */
export class SnapshotReaders {
  private readonly idle: Reader[] = [];
  private readonly leased = new Map<Reader, StoreSnapshot>();
  private closed = false;

  constructor(private readonly path: string) {}

  open(): StoreSnapshot {
    if (this.closed) throw new UnavailableError(`partition store ${this.path} is closed`, "store_closed");
    const reader = this.idle.pop() ?? this.connect();
    reader.begin.run();
    try {
      // BEGIN is deferred: SQLite fixes the snapshot at the first read, which must happen here
      // and not at the caller's first read, possibly after an await and a commit.
      reader.tx.appliedLsn();
    } catch (e) {
      reader.end.run();
      reader.db.close();
      throw e;
    }
    // The snapshot inherits the reader's prepared methods instead of copying them; release()
    // swaps that prototype for the throwing one, so a stale reference cannot read someone else's snapshot.
    const snapshot: StoreSnapshot = Object.create(reader.tx, {
      release: { value: () => this.release(reader, snapshot) },
    });
    this.leased.set(reader, snapshot);
    return snapshot;
  }

  /** Closes every connection; open snapshots behave as released. */
  close(): void {
    this.closed = true;
    for (const [reader, snapshot] of this.leased) {
      Object.setPrototypeOf(snapshot, reader.released);
      reader.db.close();
    }
    this.leased.clear();
    for (const reader of this.idle) reader.db.close();
    this.idle.length = 0;
  }

  private release(reader: Reader, snapshot: StoreSnapshot): void {
    if (this.leased.get(reader) !== snapshot) return;
    this.leased.delete(reader);
    Object.setPrototypeOf(snapshot, reader.released);
    reader.end.run();
    if (this.idle.length < MAX_IDLE_READERS) this.idle.push(reader);
    else reader.db.close();
  }

  private connect(): Reader {
    const db = new Database(this.path, { readonly: true, fileMustExist: true });
    const tx = prepareReadTxn(db);
    const released = throwingLike(tx, () => new SnapshotReleasedError(this.path));
    return { db, tx, released, begin: db.prepare("BEGIN"), end: db.prepare("COMMIT") };
  }
}

function throwingLike(tx: ReadTxn, error: () => Error): ReadTxn {
  const fail = () => {
    throw error();
  };
  return Object.freeze(Object.fromEntries(Object.keys(tx).map((method) => [method, fail]))) as unknown as ReadTxn;
}
