import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** One change of a commit, in the order the log server accepted it. */
export type RecordWrite =
  | { readonly kind: "insert"; readonly id: number; readonly checksum: number; readonly payload: Uint8Array }
  | { readonly kind: "delete"; readonly fromId: number; readonly toId: number };

/** A `loglets` row as the record store keeps it. */
export type LogletRow = Record<string, number | string | null>;

/**
 * The commit runs on a worker thread with its own connection. Under synchronous=FULL a commit
 * returns only after the WAL's fsync, milliseconds on a loaded disk, and a log server co-located
 * with a worker role would stall invocations, ingress and replication for as long on the main
 * thread. The caller still awaits the commit before it answers: the fsync moved threads, nothing
 * is acknowledged any earlier. Plain JavaScript because worker threads do not inherit the loader
 * that runs this TypeScript.
 */
const WRITER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.sqlite);
const db = new Database(workerData.path);
db.pragma("journal_mode = WAL");
// FULL: the WAL is fsync'd at every commit, so an acknowledged store survives power loss.
db.pragma("synchronous = FULL");
// FULL = 2, EXTRA = 3: the levels at which every commit syncs.
const synced = db.pragma("synchronous", { simple: true }) >= 2;
const insert = db.prepare("INSERT OR IGNORE INTO records (id, checksum, payload) VALUES (?, ?, ?)");
const remove = db.prepare("DELETE FROM records WHERE id BETWEEN ? AND ?");
const upsert = db.prepare(\`
  INSERT INTO loglets (lid, loglet_id, local_tail, sealed, trim_point, known_global_tail, sequencer_id, sequencer_generation)
  VALUES (@lid, @id, @localTail, @sealed, @trimPoint, @knownGlobalTail, @sequencerId, @sequencerGeneration)
  ON CONFLICT (lid) DO UPDATE SET local_tail = excluded.local_tail, sealed = excluded.sealed, trim_point = excluded.trim_point,
    known_global_tail = excluded.known_global_tail, sequencer_id = excluded.sequencer_id, sequencer_generation = excluded.sequencer_generation\`);
const commit = db.transaction((writes, data, loglets) => {
  // Four numbers per write: id, checksum, start and end of its payload in data; a checksum of -1
  // deletes the ids from the first to the end (the last number).
  for (let i = 0; i < writes.length; i += 4) {
    if (writes[i + 1] === -1) remove.run(writes[i], writes[i + 3]);
    else insert.run(writes[i], writes[i + 1], data.subarray(writes[i + 2], writes[i + 3]));
  }
  for (const row of loglets) upsert.run(row);
});
parentPort.on("message", (m) => {
  try {
    commit(new Float64Array(m.writes), Buffer.from(m.data), m.loglets);
    if (m.close) db.close();
    parentPort.postMessage({ seq: m.seq, synced });
  } catch (e) {
    parentPort.postMessage({ seq: m.seq, error: String((e && e.message) || e) });
  }
  if (m.close) parentPort.close();
});
`;

const SQLITE_MODULE = createRequire(import.meta.url).resolve("better-sqlite3");

interface Pending {
  readonly resolve: (synced: boolean) => void;
  readonly reject: (e: Error) => void;
}

/**
 * The writing connection of a record store, on its own thread: `commit` resolves once the
 * transaction is committed (and fsync'd, if it reports `synced`). The database's tables must exist
 * before it is started. One commit at a time is the caller's business; this only keeps the order.
 */
export class RecordWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  /** Why the thread is gone, once it is: every later commit fails with it. */
  private gone: Error | null = null;

  constructor(path: string) {
    this.worker = new Worker(WRITER_SOURCE, { eval: true, workerData: { sqlite: SQLITE_MODULE, path } });
    // An idle writer must not keep the process alive; one with a commit in flight does (see `commit`).
    this.worker.unref();
    this.worker.on("message", (m: { seq: number; synced?: boolean; error?: string }) => {
      const p = this.pending.get(m.seq);
      if (p === undefined) return;
      this.pending.delete(m.seq);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.synced === true);
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => this.fail(new Error(`record writer thread exited (code ${code})`)));
  }

  /**
   * Commits `writes` and the `loglets` rows in one transaction; resolves with whether the commit
   * was fsync'd. `close` makes it the last commit: the connection closes after it.
   */
  commit(writes: readonly RecordWrite[], loglets: readonly LogletRow[], close = false): Promise<boolean> {
    if (this.gone) return Promise.reject(this.gone);
    // One buffer for every payload and one of numbers for the writes, both handed over without a
    // copy: structured cloning copies a payload's whole backing buffer (a pooled slab, a request
    // body), and an array per write costs more to clone than to commit.
    let bytes = 0;
    for (const w of writes) if (w.kind === "insert") bytes += w.payload.length;
    const data = new Uint8Array(bytes);
    const wire = new Float64Array(writes.length * 4);
    let at = 0;
    writes.forEach((w, i) => {
      if (w.kind === "delete") {
        wire.set([w.fromId, -1, 0, w.toId], i * 4);
        return;
      }
      data.set(w.payload, at);
      wire.set([w.id, w.checksum, at, at + w.payload.length], i * 4);
      at += w.payload.length;
    });
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ seq, writes: wire.buffer, data: data.buffer, loglets, close }, [wire.buffer, data.buffer]);
    });
  }

  private fail(e: Error): void {
    this.gone ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
