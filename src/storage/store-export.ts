import Database from "better-sqlite3";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { errorMessage, UnavailableError } from "../types/errors.ts";
import type { LeaderEpoch, Lsn } from "../types/ids.ts";
import { fsmRead } from "./tables/fsm.ts";

/**
 * The copy runs on a worker thread: `VACUUM INTO` is one synchronous SQLite call that reads the
 * whole store, and on the main thread it would stop the apply loop for as long. Its own read-only
 * connection reads one WAL snapshot, so the copy is consistent while the processor keeps
 * committing. The worker is plain JavaScript because worker threads do not inherit the loader
 * that runs this TypeScript.
 */
const EXPORT_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.sqlite);
const db = new Database(workerData.source, { readonly: true, fileMustExist: true });
try {
  db.prepare("VACUUM INTO ?").run(workerData.target);
} finally {
  db.close();
}
parentPort.postMessage("done");
`;

const SQLITE_MODULE = createRequire(import.meta.url).resolve("better-sqlite3");

/** What an exported store says about itself: how far its log was applied, under which leader epoch. */
export interface ExportedState {
  readonly appliedLsn: Lsn;
  readonly leaderEpoch: LeaderEpoch;
}

/**
 * Writes a consistent, compacted copy of the store file at `source` to `target` (which must not
 * exist) without blocking the caller's thread, and returns the state the copy holds.
 */
export async function exportStore(source: string, target: string): Promise<ExportedState> {
  await new Promise<void>((resolve, reject) => {
    const worker = new Worker(EXPORT_WORKER, { eval: true, workerData: { sqlite: SQLITE_MODULE, source, target } });
    let done = false;
    worker.once("message", () => {
      done = true;
      resolve();
    });
    worker.once("error", (e) => reject(new UnavailableError(`exporting partition store ${source} failed: ${errorMessage(e)}`, "store_export_failed", { cause: e })));
    worker.once("exit", (code) => {
      if (!done) reject(new UnavailableError(`exporting partition store ${source}: worker exited with code ${code}`, "store_export_failed"));
    });
  });
  return readExportedState(target);
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
