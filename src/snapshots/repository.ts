import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Logger } from "../common/logger.ts";
import { Lsn, type PartitionId } from "../types/ids.ts";
import { InvalidSnapshotError } from "./errors.ts";
import { decodeManifest, encodeManifest, type SnapshotManifest } from "./manifest.ts";
import type { ObjectStore } from "./object-store.ts";

/** Where the newest snapshot of a partition is; written last, so it only ever names a complete one. */
export interface LatestSnapshot {
  readonly snapshotId: string;
  readonly appliedLsn: Lsn;
}

/** A complete snapshot found by listing: its manifest, or why it cannot be used. */
export type ListedSnapshot =
  | { readonly ok: true; readonly manifest: SnapshotManifest }
  | { readonly ok: false; readonly key: string; readonly appliedLsn: Lsn; readonly error: InvalidSnapshotError };

const DATA = "data.sqlite";
const MANIFEST = "manifest.json";
const LATEST = "latest.json";
const SNAPSHOT_DIR = /^lsn-(\d{20})-([A-Za-z0-9_-]+)\/(data\.sqlite|manifest\.json)$/;

const partitionDir = (partition: PartitionId) => `p${partition}/`;
const snapshotDir = (partition: PartitionId, appliedLsn: Lsn, snapshotId: string) =>
  `${partitionDir(partition)}lsn-${String(appliedLsn).padStart(20, "0")}-${snapshotId}/`;

/**
 * Partition snapshots in an object store, laid out as
 * `p<partition>/lsn-<applied LSN>-<id>/{data.sqlite,manifest.json}` plus `p<partition>/latest.json`.
 * An upload writes the data, then the manifest, then the pointer: a snapshot without a manifest is
 * unfinished and never used, and the pointer never names one that is not complete.
 */
export class SnapshotRepository {
  constructor(
    private readonly store: ObjectStore,
    private readonly log: Logger,
  ) {}

  get url(): string {
    return this.store.url;
  }

  async upload(manifest: SnapshotManifest, dataFile: string): Promise<void> {
    const dir = snapshotDir(manifest.partitionId, manifest.appliedLsn, manifest.snapshotId);
    await this.store.putFile(dir + DATA, dataFile);
    await this.store.putBytes(dir + MANIFEST, encodeManifest(manifest));
    // Another node may have uploaded a newer one meanwhile: the pointer never moves back.
    const current = await this.latest(manifest.partitionId).catch(() => null);
    if (current !== null && current.appliedLsn >= manifest.appliedLsn) return;
    const pointer: LatestSnapshot = { snapshotId: manifest.snapshotId, appliedLsn: manifest.appliedLsn };
    await this.store.putBytes(partitionDir(manifest.partitionId) + LATEST, Buffer.from(JSON.stringify(pointer)));
  }

  /** The newest complete snapshot of the partition as its pointer names it; null if there is none. */
  async latest(partition: PartitionId): Promise<LatestSnapshot | null> {
    const bytes = await this.store.getBytes(partitionDir(partition) + LATEST);
    if (bytes === null) return null;
    const where = `${this.url}${partitionDir(partition)}${LATEST}`;
    let raw: Partial<LatestSnapshot>;
    try {
      raw = JSON.parse(Buffer.from(bytes).toString("utf8")) as Partial<LatestSnapshot>;
    } catch (e) {
      throw new InvalidSnapshotError(where, `not JSON: ${(e as Error).message}`);
    }
    if (typeof raw.snapshotId !== "string" || !Number.isSafeInteger(raw.appliedLsn)) throw new InvalidSnapshotError(where, "not a snapshot pointer");
    return { snapshotId: raw.snapshotId, appliedLsn: Lsn(raw.appliedLsn!) };
  }

  /** Every complete snapshot of the partition (those with a manifest), newest first. */
  async list(partition: PartitionId): Promise<ListedSnapshot[]> {
    const complete = (await this.snapshotsOf(partition)).filter((s) => s.hasManifest);
    return Promise.all(
      complete.map(async (s): Promise<ListedSnapshot> => {
        const key = s.dir + MANIFEST;
        try {
          const bytes = await this.store.getBytes(key);
          if (bytes === null) throw new InvalidSnapshotError(this.url + key, "manifest vanished (deleted meanwhile)");
          const manifest = decodeManifest(bytes, this.url + key);
          if (manifest.partitionId !== partition || manifest.appliedLsn !== s.appliedLsn || manifest.snapshotId !== s.snapshotId) {
            throw new InvalidSnapshotError(this.url + key, "manifest does not describe the snapshot it is stored with");
          }
          return { ok: true, manifest };
        } catch (e) {
          if (!(e instanceof InvalidSnapshotError)) throw e;
          return { ok: false, key, appliedLsn: s.appliedLsn, error: e };
        }
      }),
    );
  }

  /** Downloads the snapshot's data to `path` and checks it against the manifest's size and checksum. */
  async download(manifest: SnapshotManifest, path: string): Promise<void> {
    const key = snapshotDir(manifest.partitionId, manifest.appliedLsn, manifest.snapshotId) + DATA;
    const where = this.url + key;
    if (!(await this.store.getFile(key, path))) throw new InvalidSnapshotError(where, "data file is missing");
    const { size } = await stat(path);
    if (size !== manifest.sizeBytes) throw new InvalidSnapshotError(where, `data file has ${size} bytes, the manifest says ${manifest.sizeBytes}`);
    const sha256 = await sha256Of(path);
    if (sha256 !== manifest.sha256) throw new InvalidSnapshotError(where, `checksum mismatch: data has SHA-256 ${sha256}, the manifest says ${manifest.sha256}`);
  }

  /**
   * Keeps the `retained` newest complete snapshots and deletes the older ones (manifest first, so
   * a half-deleted snapshot reads as unfinished), and unfinished uploads older than all of them.
   */
  async prune(partition: PartitionId, retained: number): Promise<void> {
    const snapshots = await this.snapshotsOf(partition);
    const kept = snapshots.filter((s) => s.hasManifest).slice(0, retained);
    if (kept.length < retained) return;
    const oldestKept = kept[kept.length - 1];
    for (const s of snapshots) {
      if (kept.includes(s) || (!s.hasManifest && s.appliedLsn >= oldestKept.appliedLsn)) continue;
      if (s.hasManifest) await this.store.delete(s.dir + MANIFEST);
      if (s.hasData) await this.store.delete(s.dir + DATA);
      this.log.debug({ partition, snapshot: s.dir }, "deleted old snapshot");
    }
  }

  /** The snapshot directories of a partition, newest first. */
  private async snapshotsOf(partition: PartitionId) {
    const prefix = partitionDir(partition);
    const dirs = new Map<string, { dir: string; appliedLsn: Lsn; snapshotId: string; hasData: boolean; hasManifest: boolean }>();
    for (const key of await this.store.list(prefix)) {
      const m = SNAPSHOT_DIR.exec(key.slice(prefix.length));
      if (m === null) continue;
      const dir = `${prefix}lsn-${m[1]}-${m[2]}/`;
      const entry = dirs.get(dir) ?? { dir, appliedLsn: Lsn(Number(m[1])), snapshotId: m[2], hasData: false, hasManifest: false };
      if (m[3] === DATA) entry.hasData = true;
      else entry.hasManifest = true;
      dirs.set(dir, entry);
    }
    return [...dirs.values()].sort((a, b) => b.appliedLsn - a.appliedLsn || (b.snapshotId < a.snapshotId ? -1 : 1));
  }
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
