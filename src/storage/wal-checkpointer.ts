import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * Checkpoints of partition stores' WALs, on one worker thread for every store of the process.
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold, on the writer's
 * thread: the apply loop paid for copying the WAL into the database file and for two fsyncs, most
 * of all while a snapshot's read transaction kept the WAL from being reset (the WAL grew, and every
 * commit past the threshold sorted all its frames again). The writing connection has that turned
 * off; this thread checkpoints with its own connection instead, each store every interval it
 * committed in:
 * - PASSIVE copies what no reader still needs and never takes the writer's lock. When it copied
 *   everything, the writer's next transaction starts the WAL over (SQLite does that itself).
 * - Under a load with no pause as long as a checkpoint's fsyncs, a commit always lands during the
 *   PASSIVE one, the WAL is never all copied and would only grow: past `walRestartBytes` a RESTART
 *   copies the pages committed since the last PASSIVE with the writer's lock held and makes the
 *   writer start over. Commits wait for it: its copy and two fsyncs. Neither can leave the lock
 *   (the WAL must be durable before its frames are copied, the database file before the WAL starts
 *   over, and no commit may land in between), but how much they write can: a PASSIVE that did not
 *   copy everything never syncs the database file, so the RESTART's sync wrote back every page
 *   copied since the last complete one, and its WAL sync every frame committed during the PASSIVE.
 *   So rounds of PASSIVE and both syncs run first, without the lock, each copying what committed
 *   during the one before, until a few pages are left (`catchUp`). Measured under load (a tight
 *   apply loop, 13,000 commits/s, 2-core machine at load 8-12): one such round took the RESTART's
 *   time from a median of 38 ms to 20 ms, the largest still about 100 ms (one fsync, however little
 *   it writes, waits behind other processes' I/O), hence a threshold far above the usual WAL size.
 * - A store idle since the last look whose WAL file is bigger than the limit (grown while a
 *   snapshot held it, or under a steady load) is cut back, `walCutBytes` per cut. Whoever cuts the
 *   file holds the writer's lock, and on this machine's file system (ext4 mounted with discard:
 *   freed blocks are trimmed inside the ftruncate) a cut takes time in proportion to what it
 *   frees, copied or not: a TRUNCATE of an all-copied 64 MiB WAL held the lock 69-105 ms, and the
 *   writer's own journal_size_limit cut 87-112 ms in its first commit after the WAL started over.
 *   A cut here is that same truncation, made by a commit of this thread's connection (user_version
 *   rewritten unchanged) with its journal_size_limit one step below the file's size: SQLite only
 *   shortens the WAL after writing a new header, as cutting a WAL whose old frames are still valid
 *   would let recovery replay a prefix of them over newer pages. 1 MiB cuts held the lock a median
 *   of 2.5 ms (0.7 ms for the commit alone), a 64 MiB WAL shrank in about 0.25 s; measured under
 *   other sessions' load. Each cut needs the WAL all copied first (the commit starts it over), so a
 *   PASSIVE copies the previous cut's page. The writer drops its status cache after such a commit
 *   (data_version), once per shrink.
 * The connection keeps the writer's synchronous level, so a checkpoint syncs the WAL before
 * copying and the database file after, as the automatic one did. Plain JavaScript because worker
 * threads do not inherit the loader that runs this TypeScript.
 */
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { closeSync, fdatasyncSync, openSync, statSync } = require("node:fs");
const Database = require(workerData.sqlite);
const stores = new Map();

function checkpoint(store, mode) {
  const row = store.db.pragma("wal_checkpoint(" + mode + ")")[0];
  // log: frames in the WAL; checkpointed: how many of them are in the database file.
  store.backfilled = row.busy === 0 && row.log === row.checkpointed;
  store.walBytes = row.log * store.frameBytes;
  store.copiedFrames = row.checkpointed;
}

function syncFile(path) {
  const fd = openSync(path, "r");
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fileBytes(path) {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function isBusy(e) {
  return e && (e.code === "SQLITE_BUSY" || e.code === "SQLITE_BUSY_SNAPSHOT");
}

// Returns the bytes each cut removed. Stops when the writer commits again: its commits reuse the
// file, and the next idle look goes on.
function shrink(store) {
  const cuts = [];
  const wal = store.path + "-wal";
  for (let size = fileBytes(wal); size > workerData.walSizeLimit; ) {
    if (Atomics.load(store.signal, 0) !== store.seenCommits) break;
    checkpoint(store, "PASSIVE");
    if (!store.backfilled) break;
    store.db.pragma("journal_size_limit = " + Math.max(workerData.walSizeLimit, size - workerData.walCutBytes));
    try {
      store.rewriteUserVersion();
    } catch (e) {
      if (isBusy(e)) break;
      throw e;
    }
    // Its frame is not copied yet: the next look checkpoints it.
    store.backfilled = false;
    const after = fileBytes(wal);
    // Not started over (a reader came back to the WAL): its commit appended a frame instead.
    if (after >= size) break;
    cuts.push(size - after);
    size = after;
  }
  return cuts;
}

// report: what this look did, for runNow (tests and benches).
function visit(store, report) {
  const commits = Atomics.load(store.signal, 0);
  const idle = commits === store.seenCommits;
  store.seenCommits = commits;
  if (!idle || !store.backfilled) checkpoint(store, "PASSIVE");
  if (!store.backfilled) return;
  if (idle) {
    if (fileBytes(store.path + "-wal") > workerData.walSizeLimit) report.cuts.push(...shrink(store));
  } else if (store.walBytes > workerData.walRestartBytes) {
    catchUp(store);
    const copied = store.copiedFrames;
    checkpoint(store, "RESTART");
    if (store.backfilled) report.restartFrames.push(store.copiedFrames - copied);
  }
}

// Copies and syncs, without the writer's lock, what committed since the last round, round after
// round, until what is left for the RESTART to copy and sync with the lock held is a few pages.
// Each round copies what committed during the one before and takes time in proportion to it, so
// the rounds shrink as long as copying outpaces the writer; once a round copied few frames (none:
// a reader holds the WAL), what commits during it is few too. Told by SQLite's own counts: the
// WAL file's size is no measure, it keeps the largest size the WAL ever had.
function catchUp(store) {
  for (let round = 0; round < workerData.catchUpRounds; round++) {
    const copiedBefore = store.copiedFrames;
    checkpoint(store, "PASSIVE");
    syncFile(store.path);
    syncFile(store.path + "-wal");
    if (store.copiedFrames - copiedBefore <= workerData.restartResidualFrames) return;
  }
}

function visitAll() {
  const report = { cuts: [], restartFrames: [] };
  for (const [id, store] of stores) {
    try {
      visit(store, report);
    } catch (e) {
      fail(id, store, e);
    }
  }
  return report;
}

function fail(id, store, e) {
  stores.delete(id);
  try { store.db.close(); } catch {}
  parentPort.postMessage({ failed: id, reason: String((e && e.message) || e) });
}

parentPort.on("message", (m) => {
  if (m.open !== undefined) {
    try {
      // The timeout bounds how long a RESTART or a cut waits for the writer's transaction to end,
      // and, holding the writer's lock, for readers to leave the WAL; then it gives up until the next look.
      const db = new Database(m.path, { fileMustExist: true, timeout: workerData.lockWaitMs });
      db.pragma("synchronous = " + m.synchronous);
      const frameBytes = db.pragma("page_size", { simple: true }) + 24;
      const rewriteUserVersion = db.transaction(() => db.pragma("user_version = " + db.pragma("user_version", { simple: true }))).immediate;
      stores.set(m.open, { db, path: m.path, signal: new Int32Array(m.signal), frameBytes, rewriteUserVersion, seenCommits: -1, backfilled: false, walBytes: 0, copiedFrames: 0 });
    } catch (e) {
      parentPort.postMessage({ failed: m.open, reason: String((e && e.message) || e) });
    }
  } else if (m.close !== undefined) {
    const store = stores.get(m.close);
    stores.delete(m.close);
    try { store?.db.close(); } catch {}
    const signal = new Int32Array(m.signal);
    Atomics.store(signal, 1, 1);
    Atomics.notify(signal, 1);
  } else if (m.runNow !== undefined) {
    parentPort.postMessage({ ran: m.runNow, report: visitAll() });
  }
});
// One store per tick, round-robin, each still looked at once per interval: looking at them all at
// once put every store's two fsyncs in one burst, and the log's durable writes queued behind it.
let turn = 0;
function visitNext() {
  const ids = [...stores.keys()];
  if (ids.length > 0) {
    const id = ids[turn++ % ids.length];
    try {
      visit(stores.get(id), { cuts: [], restartFrames: [] });
    } catch (e) {
      fail(id, stores.get(id), e);
    }
  }
  setTimeout(visitNext, workerData.intervalMs / Math.max(1, stores.size));
}
setTimeout(visitNext, workerData.intervalMs);
`;

const SQLITE_MODULE = createRequire(import.meta.url).resolve("better-sqlite3");
/** Longest a checkpoint that takes the writer's lock waits for it, and then holds it waiting for readers. */
const LOCK_WAIT_MS = 2;
/** At most this many rounds of copying without the lock precede a RESTART (see `catchUp` in the source). */
const CATCH_UP_ROUNDS = 6;
/** A RESTART follows once a round copied no more than this (about 1 MiB): fewer still commit during such a round, for the RESTART to copy under the writer's lock. */
const RESTART_RESIDUAL_FRAMES = 256;
/** The most one cut of an idle store's WAL frees, holding the writer's lock (see the source's comment). */
const WAL_CUT_BYTES = 1024 * 1024;
/** How long `close` waits for the thread to close its connection before the writer closes its own. */
const CLOSE_WAIT_MS = 10_000;

export interface WalCheckpointerOptions {
  /** How often each store is looked at: the WAL holds about this long of writes at most, beyond open reads. */
  readonly intervalMs: number;
  /** A WAL file bigger than this is cut back to it once its store is idle. */
  readonly walSizeLimitBytes: number;
  /** A WAL holding more than this under a steady load is restarted, which makes commits wait (see the source's comment). */
  readonly walRestartBytes: number;
}

/** One store's registration: what its writer tells the thread, and how it leaves. */
export interface CheckpointedStore {
  /** The writer committed: the next look checkpoints. Two atomic operations, no message. */
  committed(): void;
  /**
   * Returns once the thread's connection to the file is closed: the writer closes after it, so the
   * writer's connection is the last one and removes the WAL, never a late one of another file at this path.
   */
  close(): void;
}

interface Watched {
  readonly onFailure: (reason: string) => void;
}

/** What one `runNow` did. */
export interface CheckpointRun {
  /** Bytes each cut of an idle store's WAL removed, in order, each while holding the writer's lock. */
  readonly walCuts: readonly number[];
  /** Frames each RESTART copied with the writer's lock held. */
  readonly restartFrames: readonly number[];
}

/** The checkpointing thread, started at the first store it watches and again after it dies. */
export class WalCheckpointer {
  private worker: Worker | null = null;
  private readonly watched = new Map<number, Watched>();
  private readonly runs = new Map<number, (run: CheckpointRun) => void>();
  private nextId = 0;

  constructor(private readonly o: WalCheckpointerOptions) {}

  /**
   * Checkpoints the WAL of the store file at `path` (which exists, in WAL mode) from now on.
   * `onFailure` is called if this thread cannot, for the writer to checkpoint again itself.
   */
  watch(path: string, synchronous: "NORMAL" | "FULL", onFailure: (reason: string) => void): CheckpointedStore {
    const worker = this.start();
    const id = this.nextId++;
    // [commits, closed]
    const signal = new Int32Array(new SharedArrayBuffer(8));
    this.watched.set(id, { onFailure });
    worker.postMessage({ open: id, path, synchronous, signal: signal.buffer });
    return {
      committed: () => void Atomics.add(signal, 0, 1),
      close: () => {
        if (!this.watched.delete(id) || this.worker !== worker) return;
        worker.postMessage({ close: id, signal: signal.buffer });
        Atomics.wait(signal, 1, 0, CLOSE_WAIT_MS);
      },
    };
  }

  /** Looks at every store now instead of at the next interval; resolves when done (tests, benches). */
  runNow(): Promise<CheckpointRun> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.runs.set(id, resolve);
      worker.ref();
      worker.postMessage({ runNow: id });
    });
  }

  private start(): Worker {
    if (this.worker !== null) return this.worker;
    const worker = new Worker(CHECKPOINTER_SOURCE, {
      eval: true,
      workerData: { sqlite: SQLITE_MODULE, intervalMs: this.o.intervalMs, walSizeLimit: this.o.walSizeLimitBytes, walRestartBytes: this.o.walRestartBytes, walCutBytes: WAL_CUT_BYTES, lockWaitMs: LOCK_WAIT_MS, catchUpRounds: CATCH_UP_ROUNDS, restartResidualFrames: RESTART_RESIDUAL_FRAMES },
    });
    worker.on("message", (m: { failed?: number; reason?: string; ran?: number; report?: { cuts: number[]; restartFrames: number[] } }) => {
      if (m.failed !== undefined) this.failed(m.failed, m.reason ?? "unknown");
      if (m.ran !== undefined) this.ran(m.ran, { walCuts: m.report?.cuts ?? [], restartFrames: m.report?.restartFrames ?? [] });
    });
    const gone = (reason: string) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const id of [...this.watched.keys()]) this.failed(id, reason);
      for (const id of [...this.runs.keys()]) this.ran(id, { walCuts: [], restartFrames: [] });
    };
    worker.on("error", (e) => gone(`checkpoint thread failed: ${e.message}`));
    worker.on("exit", (code) => gone(`checkpoint thread exited (code ${code})`));
    // Checkpoints are no reason to keep a process alive; a pending `runNow` is (see there). After the
    // listeners: adding a "message" listener refs the worker again.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failed(id: number, reason: string): void {
    const w = this.watched.get(id);
    if (w === undefined) return;
    this.watched.delete(id);
    w.onFailure(reason);
  }

  private ran(id: number, run: CheckpointRun): void {
    const resolve = this.runs.get(id);
    if (resolve === undefined) return;
    this.runs.delete(id);
    if (this.runs.size === 0) this.worker?.unref();
    resolve(run);
  }
}
