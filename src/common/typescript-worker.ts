import { Worker, type Transferable } from "node:worker_threads";

/**
 * A worker thread runs plain JavaScript: it does not inherit the loader that runs this TypeScript.
 * This one registers tsx in the new thread, as bin/reprise.js does for the main one, then imports
 * the entry module.
 */
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
import(workerData.tsx).then((m) => { m.register(); return import(workerData.entry); });`;

/**
 * A worker thread running the TypeScript module `entry`; `data` is its `workerData` (with `tsx` and
 * `entry` added), `transfer` the ports in it, which move to the new thread.
 */
export function startTypeScriptWorker(entry: URL, data: object, transfer: readonly Transferable[] = []): Worker {
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...data, tsx: import.meta.resolve("tsx/esm/api"), entry: entry.href }, transferList: [...transfer] as never });
}
