import { join } from "node:path";
import type { PartitionSnapshotStatus, SnapshotAdmin } from "../admin/snapshots.ts";
import type { Bifrost } from "../bifrost/bifrost.ts";
import type { Logger } from "../common/logger.ts";
import type { PartitionReplica } from "../partition/replica.ts";
import { SnapshotBootstrap, type StoreRestorer } from "../snapshots/bootstrap.ts";
import { openObjectStore } from "../snapshots/destination.ts";
import type { ObjectStore } from "../snapshots/object-store.ts";
import { LogTrimmer } from "../snapshots/log-trimmer.ts";
import type { SnapshotManifest } from "../snapshots/manifest.ts";
import { PartitionSnapshots } from "../snapshots/partition-snapshots.ts";
import { SnapshotRepository } from "../snapshots/repository.ts";
import { ConflictError } from "../types/errors.ts";
import type { LogId, Lsn, PartitionId } from "../types/ids.ts";
import { snapshotDestination, type NodeConfig } from "./config.ts";

/** The configured snapshot repository's objects; null when none is configured. */
function snapshotObjects(config: NodeConfig): ObjectStore | null {
  const s = config.snapshots;
  return openObjectStore(snapshotDestination(config), {
    region: s.awsRegion,
    endpointUrl: s.awsEndpointUrl,
    accessKeyId: s.awsAccessKeyId,
    secretAccessKey: s.awsSecretAccessKey,
    forcePathStyle: s.awsForcePathStyle,
  });
}

/**
 * What processors outside the node's main thread start from a snapshot with (a partition
 * thread's): the configured repository's restorer, downloading into `workDir`; none without one.
 */
export function snapshotRestorer(config: NodeConfig, bifrost: Bifrost, workDir: string, logger: Logger): StoreRestorer | undefined {
  const objects = snapshotObjects(config);
  if (objects === null) return undefined;
  const log = logger.child({ component: "snapshots" });
  return new SnapshotBootstrap({ repository: new SnapshotRepository(objects, log), bifrost, clusterName: config.cluster.name, workDir, logger: log });
}

export interface NodeSnapshotsOptions {
  readonly config: NodeConfig;
  readonly baseDir: string;
  readonly bifrost: Bifrost;
  /** A cluster node: without a repository its logs are never trimmed. */
  readonly clustered: boolean;
  readonly processors: ReadonlyMap<PartitionId, PartitionReplica>;
  readonly logOf: (partition: PartitionId) => LogId;
  /** Makes the partition's store durable and returns the applied LSN that is (a single node's trim point without a repository). */
  readonly persist: (partition: PartitionId) => Lsn | Promise<Lsn>;
  readonly logger: Logger;
}

/**
 * A node's snapshots and log trimming, as configured: with a repository, snapshots on schedule and
 * on demand, processors that start from them, and logs trimmed to the archived LSN; without one, a
 * single node trims to what its stores persisted, and a cluster never trims (it warns at start).
 */
export class NodeSnapshots implements SnapshotAdmin {
  private readonly snapshots: PartitionSnapshots | null;
  private readonly trimmer: LogTrimmer | null;

  constructor(private readonly o: NodeSnapshotsOptions) {
    const { config, logger } = o;
    const s = config.snapshots;
    const objects = snapshotObjects(config);
    const candidates = () => [...o.processors.values()].map((p) => ({ partitionId: p.partitionId, logId: o.logOf(p.partitionId), appliedLsn: p.appliedLsn, isLeader: p.isLeader, storePath: p.store.path }));
    this.snapshots =
      objects === null
        ? null
        : new PartitionSnapshots({
            objects,
            bifrost: o.bifrost,
            workDir: join(o.baseDir, "snapshot-work"),
            clusterName: config.cluster.name,
            nodeName: config.nodeName,
            schedule: { intervalNumRecords: s.intervalNumRecords, intervalMs: s.intervalMs },
            numRetained: s.numRetained,
            partitions: candidates,
            logger,
          });
    const snapshots = this.snapshots;
    if (snapshots === null && o.clustered) {
      logger.warn(
        "no snapshot repository is configured (snapshots.destination, --snapshot-destination): this cluster never trims its logs, so they grow without bound and a new replica replays each log from its first record; set it to an s3:// repository all nodes reach",
      );
    }
    const safeTrimPoint = snapshots !== null ? (p: PartitionId) => snapshots.archivedLsn(p) : o.clustered ? null : async (p: PartitionId) => o.persist(p);
    this.trimmer = safeTrimPoint === null ? null : new LogTrimmer({ bifrost: o.bifrost, partitions: candidates, safeTrimPoint, intervalMs: config.log.trimIntervalMs, logger });
    if (snapshots !== null) logger.info({ repository: snapshots.url }, "partition snapshots go to this repository");
  }

  /** For each new processor: installs snapshots into its store. */
  get restorer(): StoreRestorer | undefined {
    return this.snapshots?.restorer;
  }

  get repository(): string | null {
    return this.snapshots?.url ?? null;
  }

  /** The archived LSN last learnt (for metrics); undefined without a repository or before it answered. */
  knownArchivedLsn(partition: PartitionId): Lsn | undefined {
    return this.snapshots?.knownArchivedLsn(partition);
  }

  start(): void {
    this.snapshots?.start();
    this.trimmer?.start();
  }

  async stop(): Promise<void> {
    await this.trimmer?.stop();
    await this.snapshots?.stop();
  }

  async create(partition: PartitionId | null): Promise<SnapshotManifest[]> {
    const snapshots = this.snapshots;
    if (snapshots === null) throw new ConflictError("no snapshot repository is configured: set snapshots.destination (--snapshot-destination)", "no_snapshot_repository");
    const partitions = partition !== null ? [partition] : [...this.o.processors.values()].filter((p) => p.isLeader).map((p) => p.partitionId);
    const manifests: SnapshotManifest[] = [];
    for (const p of partitions) manifests.push(await snapshots.create(p));
    return manifests;
  }

  /** What the repository says now; null without a repository or when it did not answer. */
  async archivedLsn(partition: PartitionId): Promise<Lsn | null> {
    return this.snapshots === null ? null : this.snapshots.archivedLsn(partition).catch(() => null);
  }

  async status(): Promise<PartitionSnapshotStatus[]> {
    return Promise.all(
      [...this.o.processors.values()].map(async (p) => ({
        partitionId: p.partitionId,
        leader: p.isLeader,
        appliedLsn: p.appliedLsn,
        archivedLsn: await this.archivedLsn(p.partitionId),
        trimPoint: await this.o.bifrost.getTrimPoint(this.o.logOf(p.partitionId)).catch(() => null),
      })),
    );
  }
}
