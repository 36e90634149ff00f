import Database from "better-sqlite3";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { errorMessage, UnavailableError } from "../types/errors.ts";
import type { LeaderEpoch, Lsn } from "../types/ids.ts";
import { fsmRead } from "./tables/fsm.ts";

/**
 * The copy runs on a worker thread: `VACUUM INTO` is one synchronous SQLite call that reads the
 * whole store, and hashing the copy reads it again; on the main thread either would stop the
 * apply loop for as long. Its own read-only connection reads one WAL snapshot, so the copy is
 * consistent while the processor keeps committing. The worker is plain JavaScript because worker
 * threads do not inherit the loader that runs this TypeScript.
 */
const EXPORT_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { closeSync, openSync, readSync } = require("node:fs");
const Database = require(workerData.sqlite);
const db = new Database(workerData.source, { readonly: true, fileMustExist: true });
try {
  db.prepare("VACUUM INTO ?").run(workerData.target);
} finally {
  db.close();
}
const hash = createHash("sha256");
const chunk = Buffer.alloc(1 << 20);
const fd = openSync(workerData.target, "r");
let sizeBytes = 0;
try {
  for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; sizeBytes += n) hash.update(chunk.subarray(0, n));
} finally {
  closeSync(fd);
}
parentPort.postMessage({ sizeBytes, sha256: hash.digest("hex") });
`;

const SQLITE_MODULE = createRequire(import.meta.url).resolve("better-sqlite3");

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

/**
 * Writes a consistent, compacted copy of the store file at `source` to `target` (which must not
 * exist) without blocking the caller's thread, and describes the copy.
 */
export async function exportStore(source: string, target: string): Promise<ExportedStore> {
  const file = await new Promise<{ sizeBytes: number; sha256: string }>((resolve, reject) => {
    const worker = new Worker(EXPORT_WORKER, { eval: true, workerData: { sqlite: SQLITE_MODULE, source, target } });
    let done = false;
    worker.once("message", (described: { sizeBytes: number; sha256: string }) => {
      done = true;
      resolve(described);
    });
    worker.once("error", (e) => reject(new UnavailableError(`exporting partition store ${source} failed: ${errorMessage(e)}`, "store_export_failed", { cause: e })));
    worker.once("exit", (code) => {
      if (!done) reject(new UnavailableError(`exporting partition store ${source}: worker exited with code ${code}`, "store_export_failed"));
    });
  });
  return { ...readExportedState(target), ...file };
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
