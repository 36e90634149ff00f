import Database from "better-sqlite3";
import { crc32 } from "node:zlib";
import { CorruptionError, RepriseError } from "../types/errors.ts";
import { PlainNodeId, type GenerationalNodeId } from "../types/ids.ts";
import { RecordWriter, type LogletRow, type RecordWrite } from "./record-writer.ts";

/** One loglet as a log server sees it. */
export interface LogletView {
  /** One past the highest offset stored; offsets below may have gaps (records another server holds). */
  localTail: number;
  sealed: boolean;
  /** Highest offset trimmed, 0 if none. */
  trimPoint: number;
  knownGlobalTail: number;
  sequencer: GenerationalNodeId | null;
}

export interface StoredRecord {
  readonly offset: number;
  readonly payload: Buffer;
}

type WriteOp =
  | { readonly kind: "store"; readonly firstOffset: number; readonly payloads: readonly Uint8Array[]; readonly sequencer: GenerationalNodeId | null }
  | { readonly kind: "seal" }
  | { readonly kind: "trim"; readonly upTo: number };

interface Loglet {
  /** Row key prefix: records of this loglet have id = lid * 2^32 + offset. */
  readonly lid: number;
  readonly id: string;
  /** Includes every op accepted so far: what later requests are checked against. */
  readonly staged: LogletView;
  /** Includes every op handed to the writer: what the next commit's loglet row says. */
  readonly flushed: LogletView;
  /** What has been committed to disk: what responses report. */
  readonly durable: LogletView;
}

interface PendingOp {
  readonly loglet: Loglet;
  readonly op: WriteOp;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/** A commit failed: whether the batch reached the disk is unknown, so the store stops taking writes. */
export class RecordStoreIoError extends RepriseError {
  constructor(cause: unknown) {
    super("log_store_io_error", "log store commit failed; restart the log server to recover from what is on disk", false, 500, { cause });
  }
}

const OFFSET_SPAN = 2 ** 32;
export const MAX_OFFSET = OFFSET_SPAN - 1;

/** crc32 over loglet id, offset and payload, so a record read under the wrong key never verifies. */
function recordChecksum(logletId: string, offset: number, payload: Uint8Array): number {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(offset);
  return crc32(payload, crc32(head, crc32(logletId)));
}

/**
 * Records of many loglets in one SQLite database (WAL, synchronous=FULL). Writes are
 * group-committed on a worker thread (`RecordWriter`): what is enqueued during one event-loop turn
 * is handed over as one commit, and the thread puts every commit that arrived while it was busy
 * into its next transaction; each enqueue resolves only after the transaction holding it (and its
 * fsync) finished. Reads use a read-only connection on the calling thread, which sees a
 * transaction once it is committed.
 */
export class RecordStore {
  private readonly db: Database.Database;
  private readonly writer: RecordWriter;
  private readonly loglets = new Map<string, Loglet>();
  private nextLid: number;
  private queue: PendingOp[] = [];
  private flushScheduled = false;
  /** The last commit handed to the writer, settled once its ops (and so every earlier one's) resolved or rejected. */
  private lastCommit: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private failed: RecordStoreIoError | null = null;
  private readonly stmts;
  private syncs = 0;

  constructor(readonly path: string) {
    // The tables exist and the loglets are loaded before the writer's connection opens.
    const setup = new Database(path);
    setup.pragma("journal_mode = WAL");
    setup.exec(`
      CREATE TABLE IF NOT EXISTS loglets (
        lid INTEGER PRIMARY KEY,
        loglet_id TEXT NOT NULL UNIQUE,
        local_tail INTEGER NOT NULL,
        sealed INTEGER NOT NULL,
        trim_point INTEGER NOT NULL,
        known_global_tail INTEGER NOT NULL,
        sequencer_id INTEGER,
        sequencer_generation INTEGER
      );
      CREATE TABLE IF NOT EXISTS records (
        id INTEGER PRIMARY KEY,
        checksum INTEGER NOT NULL,
        payload BLOB NOT NULL
      );
    `);
    this.nextLid = 1;
    const rows = setup.prepare("SELECT * FROM loglets").all() as Array<Record<string, number | string | null>>;
    setup.close();
    for (const r of rows) {
      const view = (): LogletView => ({
        localTail: r.local_tail as number,
        sealed: r.sealed === 1,
        trimPoint: r.trim_point as number,
        knownGlobalTail: r.known_global_tail as number,
        sequencer: r.sequencer_id === null ? null : { id: PlainNodeId(r.sequencer_id as number), generation: r.sequencer_generation as number },
      });
      const lid = r.lid as number;
      this.loglets.set(r.loglet_id as string, { lid, id: r.loglet_id as string, staged: view(), flushed: view(), durable: view() });
      this.nextLid = Math.max(this.nextLid, lid + 1);
    }
    this.db = new Database(path, { readonly: true, fileMustExist: true });
    this.stmts = {
      readRange: this.db.prepare("SELECT id, checksum, payload FROM records WHERE id BETWEEN ? AND ? ORDER BY id LIMIT ?"),
      idsInRange: this.db.prepare("SELECT id FROM records WHERE id BETWEEN ? AND ? ORDER BY id").pluck(),
    };
    this.writer = new RecordWriter(path);
  }

  /**
   * Write transactions SQLite fsync'd before returning: every one while the writer's `synchronous`
   * is FULL or stronger, none if the level were weaker. A durability metric: each acknowledged
   * store, seal or trim waited for one.
   */
  get syncedCommits(): number {
    return this.syncs;
  }

  has(logletId: string): boolean {
    return this.loglets.has(logletId);
  }

  /** The loglet's accepted (staged) view, creating an empty loglet on first use. */
  staged(logletId: string): LogletView {
    return this.loglet(logletId).staged;
  }

  durable(logletId: string): LogletView {
    return this.loglet(logletId).durable;
  }

  /** Raises the known global tail in memory; it reaches the disk with the loglet's next commit (it is only a hint). */
  observeGlobalTail(logletId: string, tail: number): void {
    const l = this.loglet(logletId);
    for (const view of [l.staged, l.flushed, l.durable]) if (tail > view.knownGlobalTail) view.knownGlobalTail = tail;
  }

  store(logletId: string, firstOffset: number, payloads: readonly Uint8Array[], sequencer: GenerationalNodeId | null): Promise<void> {
    return this.enqueue(logletId, { kind: "store", firstOffset, payloads, sequencer });
  }

  seal(logletId: string): Promise<void> {
    return this.enqueue(logletId, { kind: "seal" });
  }

  trim(logletId: string, upTo: number): Promise<void> {
    return this.enqueue(logletId, { kind: "trim", upTo });
  }

  /** Records in [from, to] held here, at most `maxRecords` and about `maxBytes`; verified against their checksums. */
  read(logletId: string, from: number, to: number, maxRecords: number, maxBytes: number): { records: StoredRecord[]; nextOffset: number } {
    const l = this.loglet(logletId);
    const start = Math.max(from, l.durable.trimPoint + 1);
    const base = l.lid * OFFSET_SPAN;
    const rows = this.stmts.readRange.all(base + start, base + to, maxRecords) as Array<{ id: number; checksum: number; payload: Buffer }>;
    const records: StoredRecord[] = [];
    let bytes = 0;
    for (const row of rows) {
      const offset = row.id - base;
      if (records.length > 0 && bytes + row.payload.length > maxBytes) return { records, nextOffset: offset };
      if (recordChecksum(logletId, offset, row.payload) !== row.checksum) {
        throw new CorruptionError(`log store ${this.path}: record ${logletId}@${offset} fails its checksum`);
      }
      records.push({ offset, payload: row.payload });
      bytes += row.payload.length;
    }
    const nextOffset = rows.length === maxRecords ? records[records.length - 1].offset + 1 : to + 1;
    return { records, nextOffset };
  }

  /** Offsets in [from, to] held here (no payloads read). */
  offsets(logletId: string, from: number, to: number): number[] {
    const l = this.loglet(logletId);
    const base = l.lid * OFFSET_SPAN;
    const start = Math.max(from, l.durable.trimPoint + 1);
    return (this.stmts.idsInRange.all(base + start, base + to) as number[]).map((id) => id - base);
  }

  /**
   * Commits what is queued (also what is enqueued while earlier commits settle), then every
   * loglet's row (its in-memory hints too), then closes the database. After a failed commit it
   * writes no rows and rejects with that failure.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (let awaited: Promise<void> | null = null; awaited !== this.lastCommit || this.queue.length > 0; ) {
        this.flush();
        awaited = this.lastCommit;
        await awaited;
      }
      // The writer's connection closes last, so SQLite checkpoints the WAL into the database file.
      this.db.close();
      await this.writer.commit([], [...this.loglets.values()].map((l) => rowOf(l, l.flushed)), true).catch((e: unknown) => {
        throw this.failed ?? new RecordStoreIoError(e);
      });
    })();
    return this.closing;
  }

  private loglet(logletId: string): Loglet {
    let l = this.loglets.get(logletId);
    if (!l) {
      const empty = (): LogletView => ({ localTail: 1, sealed: false, trimPoint: 0, knownGlobalTail: 0, sequencer: null });
      l = { lid: this.nextLid++, id: logletId, staged: empty(), flushed: empty(), durable: empty() };
      this.loglets.set(logletId, l);
    }
    return l;
  }

  private enqueue(logletId: string, op: WriteOp): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const loglet = this.loglet(logletId);
    apply(loglet.staged, op);
    return new Promise((resolve, reject) => {
      this.queue.push({ loglet, op, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const writes: RecordWrite[] = [];
    const touched = new Set<Loglet>();
    for (const { loglet, op } of batch) {
      this.write(writes, loglet, op);
      touched.add(loglet);
    }
    for (const p of batch) apply(p.loglet.flushed, p.op);
    const rows: LogletRow[] = [...touched].map((l) => rowOf(l, l.flushed));
    this.lastCommit = this.writer.commit(writes, rows).then(
      ({ synced, firstOfTransaction }) => {
        if (synced && firstOfTransaction) this.syncs++;
        for (const p of batch) {
          apply(p.loglet.durable, p.op);
          p.resolve();
        }
      },
      (e: unknown) => {
        this.failed ??= new RecordStoreIoError(e);
        // What queued behind the failed commit is refused too: the store takes no more writes.
        for (const p of [...batch, ...this.queue.splice(0)]) p.reject(this.failed);
      },
    );
  }

  private write(out: RecordWrite[], l: Loglet, op: WriteOp): void {
    const base = l.lid * OFFSET_SPAN;
    switch (op.kind) {
      case "store":
        op.payloads.forEach((payload, i) => {
          const offset = op.firstOffset + i;
          // Records at or below the trim point were dropped on purpose and stay dropped.
          if (offset > l.staged.trimPoint) out.push({ kind: "insert", id: base + offset, checksum: recordChecksum(l.id, offset, payload), payload });
        });
        return;
      case "trim":
        out.push({ kind: "delete", fromId: base + 1, toId: base + op.upTo });
        return;
      case "seal":
        return;
    }
  }
}

function apply(view: LogletView, op: WriteOp): void {
  switch (op.kind) {
    case "store":
      view.localTail = Math.max(view.localTail, op.firstOffset + op.payloads.length);
      view.sequencer ??= op.sequencer;
      return;
    case "seal":
      view.sealed = true;
      return;
    case "trim":
      view.trimPoint = Math.max(view.trimPoint, op.upTo);
      return;
  }
}

function rowOf(l: Loglet, v: LogletView): LogletRow {
  return {
    lid: l.lid,
    id: l.id,
    localTail: v.localTail,
    sealed: v.sealed ? 1 : 0,
    trimPoint: v.trimPoint,
    knownGlobalTail: v.knownGlobalTail,
    sequencerId: v.sequencer?.id ?? null,
    sequencerGeneration: v.sequencer?.generation ?? null,
  };
}
