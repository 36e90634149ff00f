import { randomBytes } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../common/logger.ts";
import { exportStore } from "../storage/store-export.ts";
import type { PartitionId } from "../types/ids.ts";
import { SNAPSHOT_FORMAT_VERSION, type SnapshotManifest } from "./manifest.ts";
import type { SnapshotRepository } from "./repository.ts";

export interface SnapshotTakerOptions {
  readonly repository: SnapshotRepository;
  /** Scratch directory for exports on their way to the repository. */
  readonly workDir: string;
  readonly clusterName: string;
  readonly nodeName: string;
  /** Complete snapshots kept per partition; older ones are deleted after each upload. */
  readonly numRetained: number;
  readonly logger: Logger;
}

/** Takes one snapshot of a partition store: export and checksum (off the main thread), upload, prune. */
export class SnapshotTaker {
  constructor(private readonly o: SnapshotTakerOptions) {}

  async take(partitionId: PartitionId, storePath: string): Promise<SnapshotManifest> {
    await mkdir(this.o.workDir, { recursive: true });
    // Time first, so ids of one partition sort by age even at the same LSN.
    const snapshotId = `${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
    const file = join(this.o.workDir, `p${partitionId}-${snapshotId}.sqlite`);
    const started = Date.now();
    try {
      const state = await exportStore(storePath, file);
      const manifest: SnapshotManifest = {
        formatVersion: SNAPSHOT_FORMAT_VERSION,
        snapshotId,
        partitionId,
        appliedLsn: state.appliedLsn,
        leaderEpoch: state.leaderEpoch,
        clusterName: this.o.clusterName,
        nodeName: this.o.nodeName,
        createdAt: new Date().toISOString(),
        sizeBytes: state.sizeBytes,
        sha256: state.sha256,
      };
      await this.o.repository.upload(manifest, file);
      this.o.logger.info(
        { partition: partitionId, appliedLsn: manifest.appliedLsn, sizeBytes: manifest.sizeBytes, ms: Date.now() - started, repository: this.o.repository.url },
        "partition snapshot uploaded",
      );
      try {
        await this.o.repository.prune(partitionId, this.o.numRetained);
      } catch (e) {
        // The next upload prunes again; a failed prune only leaves extra snapshots behind.
        this.o.logger.warn({ partition: partitionId, err: (e as Error).message }, "deleting old snapshots failed");
      }
      return manifest;
    } finally {
      await rm(file, { force: true });
    }
  }
}
