import { rmSync } from "node:fs";
import type { Bifrost } from "../bifrost/bifrost.ts";
import type { Logger } from "../common/logger.ts";
import { NotFoundError } from "../types/errors.ts";
import { Lsn, LSN_INVALID, type PartitionId } from "../types/ids.ts";
import { SnapshotBootstrap, type StoreRestorer } from "./bootstrap.ts";
import type { SnapshotManifest } from "./manifest.ts";
import type { ObjectStore } from "./object-store.ts";
import { SnapshotRepository } from "./repository.ts";
import { SnapshotScheduler, type SnapshotCandidate, type SnapshotSchedule } from "./snapshot-scheduler.ts";
import { SnapshotTaker } from "./snapshot-taker.ts";

/** A partition replica on this node: what snapshots are taken of. */
export interface SnapshotPartition extends SnapshotCandidate {
  /** The store file an export copies. */
  readonly storePath: string;
}

export interface PartitionSnapshotsOptions {
  readonly objects: ObjectStore;
  readonly bifrost: Bifrost;
  /** Scratch space for exports and downloads; emptied at start. */
  readonly workDir: string;
  readonly clusterName: string;
  readonly nodeName: string;
  readonly schedule: SnapshotSchedule;
  readonly numRetained: number;
  readonly partitions: () => Iterable<SnapshotPartition>;
  readonly logger: Logger;
}

/**
 * Snapshots of this node's partitions in one repository: scheduled and on-demand snapshots (one at
 * a time), each partition's archived LSN (the applied LSN of its newest snapshot there), and the
 * restorer processors use to start from a snapshot.
 */
export class PartitionSnapshots {
  readonly repository: SnapshotRepository;
  readonly restorer: StoreRestorer;
  private readonly taker: SnapshotTaker;
  private readonly scheduler: SnapshotScheduler;
  private readonly archived = new Map<PartitionId, Lsn>();
  /** Snapshots run one after another: each copies a whole store. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: PartitionSnapshotsOptions) {
    const log = o.logger.child({ component: "snapshots" });
    // Whatever is there was left by a crash mid-export or mid-download.
    rmSync(o.workDir, { recursive: true, force: true });
    this.repository = new SnapshotRepository(o.objects, log);
    this.taker = new SnapshotTaker({ repository: this.repository, workDir: o.workDir, clusterName: o.clusterName, nodeName: o.nodeName, numRetained: o.numRetained, logger: log });
    this.restorer = new SnapshotBootstrap({ repository: this.repository, bifrost: o.bifrost, clusterName: o.clusterName, workDir: o.workDir, logger: log });
    this.scheduler = new SnapshotScheduler({
      schedule: o.schedule,
      partitions: o.partitions,
      take: async (partition) => (await this.create(partition)).appliedLsn,
      archivedLsn: (partition) => this.archivedLsn(partition),
      logger: log,
    });
  }

  get url(): string {
    return this.repository.url;
  }

  start(): void {
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    await this.scheduler.stop();
    await this.queue.catch(() => undefined);
    this.o.objects.close();
  }

  /** Takes a snapshot of this node's replica of `partition` now (after any snapshot already running). */
  create(partition: PartitionId): Promise<SnapshotManifest> {
    const replica = [...this.o.partitions()].find((p) => p.partitionId === partition);
    if (replica === undefined) return Promise.reject(new NotFoundError(`partition ${partition} has no replica on this node`, "partition_not_here"));
    const run = this.queue.then(async () => {
      const manifest = await this.taker.take(partition, replica.storePath);
      this.noteArchived(partition, manifest.appliedLsn);
      this.scheduler.noteSnapshot(partition, manifest.appliedLsn);
      return manifest;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The partition's archived LSN as the repository says now (another node may have uploaded a newer one). */
  async archivedLsn(partition: PartitionId): Promise<Lsn> {
    // What the repository says, even if lower than before: trimming must rest on what is there.
    const lsn = (await this.repository.latest(partition))?.appliedLsn ?? LSN_INVALID;
    this.archived.set(partition, lsn);
    return lsn;
  }

  /** The archived LSN last learnt, without asking the repository; undefined if not learnt yet. */
  knownArchivedLsn(partition: PartitionId): Lsn | undefined {
    return this.archived.get(partition);
  }

  private noteArchived(partition: PartitionId, lsn: Lsn): void {
    this.archived.set(partition, Lsn(Math.max(this.archived.get(partition) ?? LSN_INVALID, lsn)));
  }
}
