import { randomUUID } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { CorruptionError } from "../types/errors.ts";
import type { GenerationalNodeId } from "../types/ids.ts";
import { DataDirOwnershipError, FencedNodeError } from "../net/log-server-errors.ts";

const STORAGE_MARKER_FILE = "storage-marker.json";

/** Written into a log server's data directory before anything else, naming the node that owns it. */
export interface StorageMarker {
  readonly clusterName: string;
  readonly nodeId: number;
  /** Generation of the newest process that opened the directory. */
  readonly generation: number;
  /**
   * Chosen when the directory is first claimed and kept for its lifetime: it names this storage in
   * `NodesConfiguration`, so the node can tell its own recorded state from that of a directory it lost.
   */
  readonly storageId: string;
  readonly createdAtMs: number;
}

/**
 * Takes ownership of `dir` for `me`: refuses a directory of another node or cluster, or one a newer
 * generation of this node already opened. `fresh` is true when the directory had no marker, i.e.
 * holds no data of an earlier run.
 */
export function claimDataDir(dir: string, me: GenerationalNodeId, clusterName: string): { marker: StorageMarker; fresh: boolean } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, STORAGE_MARKER_FILE);
  const existing = readMarker(path);
  if (existing !== null) {
    if (existing.nodeId !== me.id || existing.clusterName !== clusterName) {
      throw new DataDirOwnershipError(`${dir} (cluster '${existing.clusterName}')`, existing.nodeId, me.id);
    }
    if (existing.generation > me.generation) throw FencedNodeError.superseded(me, existing.generation);
  }
  const marker: StorageMarker = {
    clusterName,
    nodeId: me.id,
    generation: me.generation,
    // A marker from before storage ids gets one now; its data is the same storage as before.
    storageId: existing?.storageId ?? randomUUID(),
    createdAtMs: existing?.createdAtMs ?? Date.now(),
  };
  if (existing?.generation !== me.generation || existing.storageId !== marker.storageId) writeDurably(dir, path, JSON.stringify(marker));
  return { marker, fresh: existing === null };
}

/** A marker as found on disk: one written before storage ids has none. */
type StoredMarker = Omit<StorageMarker, "storageId"> & { readonly storageId?: string };

function readMarker(path: string): StoredMarker | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  try {
    const m = JSON.parse(text) as Omit<StoredMarker, "storageId"> & { storageId?: unknown };
    if (typeof m.nodeId !== "number" || typeof m.generation !== "number" || typeof m.clusterName !== "string") throw new Error("missing fields");
    if (m.storageId !== undefined && typeof m.storageId !== "string") throw new Error("storageId is not a string");
    return m as StoredMarker;
  } catch (e) {
    throw new CorruptionError(`storage marker ${path} is unreadable: ${(e as Error).message}`);
  }
}

/** tmp + fsync + rename + fsync(dir): the marker is either the old or the new one after a crash. */
function writeDurably(dir: string, path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
