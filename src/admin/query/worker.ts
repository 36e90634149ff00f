/**
 * A SQL worker thread: its own DuckDB (locked down, one thread, bounded memory) and read-only
 * connections to the partition store files, so no query's loading or execution runs on the
 * engine's event loop. It answers one query at a time; the pool in engine.ts hands them out.
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { openStoreFile, type ReadTxn, type StoreFileReader, type StoreSnapshot } from "../../storage/partition-store.ts";
import { errorMessage, RepriseError } from "../../types/errors.ts";
import { executeQuery, type QueryAnswer, type QueryRun } from "./execute.ts";
import { SCHEMA_DDL } from "./tables.ts";

export interface WorkerSettings {
  readonly memoryLimit: string;
  /** Added to the thread's nice value: a long scan yields the CPU to the engine. */
  readonly niceness: number;
}

export interface WorkerRequest {
  readonly seq: number;
  readonly run: QueryRun;
  /** Partition store files, read through snapshots taken when the query starts. */
  readonly stores: readonly string[];
}

export type WorkerResponse =
  | { readonly seq: number; readonly ok: true; readonly answer: QueryAnswer }
  | { readonly seq: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string; readonly retryable: boolean; readonly httpStatus: number } };

/** The query's own DuckDB cannot touch files, the network or its own settings. */
function duckdbConfig(settings: WorkerSettings): Record<string, string> {
  return {
    enable_external_access: "false",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
    threads: "1",
    memory_limit: settings.memoryLimit,
  };
}

/** Linux schedules threads individually: this thread (not the process) gets the lower priority. */
function lowerThreadPriority(niceness: number): void {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (Number.isInteger(tid)) setPriority(tid, niceness);
  } catch {
    // Not Linux, or not permitted: the worker runs at the process's priority.
  }
}

async function main(settings: WorkerSettings): Promise<void> {
  lowerThreadPriority(settings.niceness);
  const instance = await DuckDBInstance.create(":memory:", duckdbConfig(settings));
  const setup = await instance.connect();
  // DataFusion reads timestamps without a zone as UTC.
  await setup.run("SET TimeZone = 'UTC'");
  for (const ddl of SCHEMA_DDL) await setup.run(ddl);
  await setup.run("SET lock_configuration = true");
  setup.closeSync();

  const readers = new Map<string, StoreFileReader>();
  const snapshotsOf = (paths: readonly string[]) => () => {
    const open: StoreSnapshot[] = [];
    try {
      for (const path of paths) {
        let reader = readers.get(path);
        if (!reader) readers.set(path, (reader = openStoreFile(path)));
        open.push(reader.openSnapshot());
      }
    } catch (e) {
      for (const s of open) s.release();
      throw e;
    }
    return { partitions: open as ReadTxn[], release: () => open.forEach((s) => s.release()) };
  };

  // One query at a time: the next starts once the previous one's tables are empty again.
  let previous = Promise.resolve();
  parentPort!.on("message", (request: WorkerRequest) => {
    previous = previous.then(() => answer(request));
  });
  const answer = async (request: WorkerRequest): Promise<void> => {
    let execution;
    try {
      execution = await executeQuery(instance, snapshotsOf(request.stores), request.run);
    } catch (e) {
      const error =
        e instanceof RepriseError
          ? { code: e.code, message: e.message, retryable: e.retryable, httpStatus: e.httpStatus }
          : { code: "query_failed", message: errorMessage(e), retryable: false, httpStatus: 500 };
      parentPort!.postMessage({ seq: request.seq, ok: false, error } satisfies WorkerResponse);
      return;
    }
    const { answer, cleanup } = execution;
    // Clean up before answering: the engine stops an idle worker at close, and stopping one while
    // DuckDB still works (dropping this query's tables) aborts the process.
    await cleanup().catch(() => undefined);
    if ("encoded" in answer) {
      const { body, contentType } = answer.encoded;
      const own = ownBytes(body);
      parentPort!.postMessage({ seq: request.seq, ok: true, answer: { encoded: { contentType, body: own } } } satisfies WorkerResponse, [own.buffer as ArrayBuffer]);
    } else if ("rows" in answer) {
      const own = ownBytes(answer.rows);
      parentPort!.postMessage({ seq: request.seq, ok: true, answer: { rows: own } } satisfies WorkerResponse, [own.buffer as ArrayBuffer]);
    } else {
      parentPort!.postMessage({ seq: request.seq, ok: true, answer } satisfies WorkerResponse);
    }
  };
  parentPort!.postMessage({ ready: true });
}

/** Bytes that own their whole buffer: a small Buffer may be a view into Node's shared pool, which must not be transferred. */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

await main(workerData as WorkerSettings);
