import Database from "better-sqlite3";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { errorMessage, UnavailableError } from "../types/errors.ts";
import { LeaderEpoch, Lsn } from "../types/ids.ts";
import { FSM_APPLIED_LSN, FSM_LEADER_EPOCH, FSM_VALUE_SQL, fsmRead } from "./tables/fsm.ts";

/**
 * The whole export runs on a worker thread: `VACUUM INTO` is one synchronous SQLite call that reads
 * the whole store, hashing the copy reads it again, and even opening the copy to read its applied
 * LSN (schema parse, one query) took 1-9 ms on the loaded test machine; on the main thread any of
 * them stops the apply loop for as long. Its own read-only connection reads one WAL snapshot, so the
 * copy is consistent while the processor keeps committing, and a WAL reader holds no lock the writer
 * needs. With nothing left on the main thread, what remained of the apply gaps during a snapshot was
 * the apply thread waiting in the run queue while the copy and the hash had a core, so the thread
 * first lowers its own priority. On Linux the nice value belongs to the calling thread; elsewhere
 * setPriority(0) would lower the whole process, so it is left alone there. The thread lives on
 * between exports: a worker's start and end cost the main thread itself (a new isolate, the
 * SQLite addon loaded into it, its teardown), and with a thread per export those were the largest
 * apply gaps left during a snapshot. Plain JavaScript because worker threads do not inherit the
 * loader that runs this TypeScript.
 */
const EXPORT_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { closeSync, openSync, readSync } = require("node:fs");
const { setPriority } = require("node:os");
if (workerData.niceness !== null) setPriority(0, workerData.niceness);
const Database = require(workerData.sqlite);
const chunk = Buffer.alloc(1 << 20);
function exportOne(source, target) {
  const db = new Database(source, { readonly: true, fileMustExist: true });
  try {
    db.prepare("VACUUM INTO ?").run(target);
  } finally {
    db.close();
  }
  const hash = createHash("sha256");
  const fd = openSync(target, "r");
  let sizeBytes = 0;
  try {
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; sizeBytes += n) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  const copy = new Database(target, { readonly: true, fileMustExist: true });
  try {
    const value = copy.prepare(workerData.fsmValueSql).pluck();
    return { sizeBytes, sha256: hash.digest("hex"), appliedLsn: value.get(workerData.appliedLsnKey), leaderEpoch: value.get(workerData.leaderEpochKey) };
  } finally {
    copy.close();
  }
}
parentPort.on("message", ({ id, source, target }) => {
  try {
    parentPort.postMessage({ id, ...exportOne(source, target) });
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.message) || e) });
  }
});
`;

const SQLITE_MODULE = createRequire(import.meta.url).resolve("better-sqlite3");
/**
 * Nice value of the export thread: against the apply thread (nice 0) it gets about a tenth of a
 * contended core. Measured under load (load average 8-12 on 2 cores, 9 rounds each): the apply
 * loop committed 0.77 times as often during a snapshot as without one (0.45 at nice 0), its p99 gap
 * during a snapshot was 4.8 ms (8.7 ms at nice 0), and a snapshot took 2.1 s (1.7 s). Nice 19 did
 * no better for apply (0.78, 4.4 ms) while a snapshot took up to 6 s, holding its read
 * transaction, and so the WAL, for as long.
 */
const EXPORT_NICENESS = 10;

/** What an exported store says about itself: how far its log was applied, under which leader epoch. */
export interface ExportedState {
  readonly appliedLsn: Lsn;
  readonly leaderEpoch: LeaderEpoch;
}

/** An export file: the state it holds, its size and its hex SHA-256. */
export interface ExportedStore extends ExportedState {
  readonly sizeBytes: number;
  readonly sha256: string;
}

interface ExportWorkerAnswer {
  readonly id: number;
  readonly error?: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  readonly appliedLsn: number;
  readonly leaderEpoch: number;
}

interface PendingExport {
  readonly source: string;
  readonly resolve: (answer: ExportWorkerAnswer) => void;
  readonly reject: (e: Error) => void;
}

/** The export thread: started at the first export, again after it died; holds the process only while exporting. */
class ExportThread {
  private static current: ExportThread | null = null;
  private readonly worker: Worker;
  private readonly pending = new Map<number, PendingExport>();
  private nextId = 0;

  static get(): ExportThread {
    return (ExportThread.current ??= new ExportThread());
  }

  private constructor() {
    this.worker = new Worker(EXPORT_WORKER, {
      eval: true,
      workerData: {
        sqlite: SQLITE_MODULE,
        niceness: process.platform === "linux" ? EXPORT_NICENESS : null,
        fsmValueSql: FSM_VALUE_SQL,
        appliedLsnKey: FSM_APPLIED_LSN,
        leaderEpochKey: FSM_LEADER_EPOCH,
      },
    });
    this.worker.unref();
    this.worker.on("message", (answer: ExportWorkerAnswer) => {
      const p = this.pending.get(answer.id);
      if (p === undefined) return;
      this.settled(answer.id);
      if (answer.error === undefined) p.resolve(answer);
      else p.reject(new UnavailableError(`exporting partition store ${p.source} failed: ${answer.error}`, "store_export_failed"));
    });
    this.worker.once("error", (e) => this.died(`failed: ${errorMessage(e)}`, e));
    this.worker.once("exit", (code) => this.died(`worker exited with code ${code}`));
  }

  run(source: string, target: string): Promise<ExportWorkerAnswer> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { source, resolve, reject });
      this.worker.postMessage({ id, source, target });
    });
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private died(reason: string, cause?: unknown): void {
    if (ExportThread.current === this) ExportThread.current = null;
    for (const [id, p] of [...this.pending]) {
      this.settled(id);
      p.reject(new UnavailableError(`exporting partition store ${p.source}: ${reason}`, "store_export_failed", cause === undefined ? undefined : { cause }));
    }
  }
}

/**
 * Writes a consistent, compacted copy of the store file at `source` to `target` (which must not
 * exist) without blocking the caller's thread, and describes the copy.
 */
export async function exportStore(source: string, target: string): Promise<ExportedStore> {
  const answer = await ExportThread.get().run(source, target);
  return { appliedLsn: Lsn(answer.appliedLsn), leaderEpoch: LeaderEpoch(answer.leaderEpoch), sizeBytes: answer.sizeBytes, sha256: answer.sha256 };
}

/** Applied LSN and leader epoch of a store file that no one writes (an export or a downloaded snapshot). */
export function readExportedState(file: string): ExportedState {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const fsm = fsmRead(db);
    return { appliedLsn: fsm.appliedLsn(), leaderEpoch: fsm.leaderEpoch() };
  } finally {
    db.close();
  }
}
