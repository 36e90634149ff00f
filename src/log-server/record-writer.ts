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
 * is acknowledged any earlier.
 *
 * The thread group-commits: every commit that arrived while it was busy goes into its next
 * transaction, so one commit follows another without waiting for the caller to hear of the first.
 * After a failed transaction it fails everything that follows: nothing commits behind a write
 * whose fate is unknown. Plain JavaScript because worker threads do not inherit the loader that
 * runs this TypeScript.
 */
const WRITER_SOURCE = `
const { parentPort, workerData, receiveMessageOnPort } = require("node:worker_threads");
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
const commitAll = db.transaction((messages) => {
  for (const m of messages) {
    const writes = new Float64Array(m.writes);
    const data = Buffer.from(m.data);
    // Four numbers per write: id, checksum, start and end of its payload in data; a checksum of -1
    // deletes the ids from the first to the end (the last number).
    for (let i = 0; i < writes.length; i += 4) {
      if (writes[i + 1] === -1) remove.run(writes[i], writes[i + 3]);
      else insert.run(writes[i], writes[i + 1], data.subarray(writes[i + 2], writes[i + 3]));
    }
    for (const row of m.loglets) upsert.run(row);
  }
});
let failed = null;
parentPort.on("message", (first) => {
  const messages = [first];
  for (let next; !messages[messages.length - 1].close && (next = receiveMessageOnPort(parentPort)) !== undefined; ) messages.push(next.message);
  const seqs = messages.map((m) => m.seq);
  const close = messages[messages.length - 1].close;
  if (failed === null) {
    try {
      commitAll(messages);
    } catch (e) {
      failed = String((e && e.message) || e);
    }
  }
  if (close) db.close();
  parentPort.postMessage(failed === null ? { seqs, synced } : { seqs, error: failed });
  if (close) parentPort.close();
});
`;

const SQLITE_MODULE = createRequire(import.meta.url).resolve("better-sqlite3");

interface Pending {
  readonly resolve: (commit: Committed) => void;
  readonly reject: (e: Error) => void;
}

/** How a commit reached the disk. */
export interface Committed {
  /** Whether its transaction was fsync'd before it returned. */
  readonly synced: boolean;
  /** The first commit of its transaction (the transaction also holds later ones): count transactions by it. */
  readonly firstOfTransaction: boolean;
}

/**
 * The writing connection of a record store, on its own thread: `commit` resolves once the
 * transaction holding it is committed (and fsync'd, if it reports `synced`), commits resolving in
 * the order they were made. The database's tables must exist before it is started.
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
    this.worker.on("message", (m: { seqs: number[]; synced?: boolean; error?: string }) => {
      m.seqs.forEach((seq, i) => {
        const p = this.pending.get(seq);
        if (p === undefined) return;
        this.pending.delete(seq);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve({ synced: m.synced === true, firstOfTransaction: i === 0 });
      });
      if (this.pending.size === 0) this.worker.unref();
    });
    this.worker.on("error", (e) => this.fail(e));
    this.worker.on("exit", (code) => this.fail(new Error(`record writer thread exited (code ${code})`)));
  }

  /**
   * Commits `writes` and the `loglets` rows, all in one transaction (with other commits made
   * meanwhile), after every earlier commit. `close` makes it the last one: the connection closes
   * after it.
   */
  commit(writes: readonly RecordWrite[], loglets: readonly LogletRow[], close = false): Promise<Committed> {
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
