import type { LogTail } from "../../bifrost/bifrost.ts";
import type { ReplicaProgress } from "../../partition/replica.ts";
import type { LogId, Lsn, PartitionId } from "../../types/ids.ts";

// What the restatectl API reads from the parts of a node, each through the least it needs.

/** One partition processor's leadership and progress; `PartitionProcessor` has these. */
export interface PartitionStatusSource {
  readonly isLeader: boolean;
  readonly appliedLsn: Lsn;
  /** Applied LSN and leader epoch, read together. */
  progress(): ReplicaProgress;
  /** The node the log last announced as leader; null before any announcement. */
  readonly announcedLeader: { readonly nodeId: number } | null;
}

/** The log as Bifrost serves it. */
export interface LogTailSource {
  describeTail(logId: LogId): Promise<LogTail>;
  getTrimPoint(logId: LogId): Promise<Lsn>;
  /** Drops the records up to `upTo`; only to an LSN a snapshot in the repository covers. */
  trim(logId: LogId, upTo: Lsn): Promise<void>;
}

/** A snapshot just uploaded to the repository. */
export interface TakenSnapshot {
  readonly snapshotId: string;
  readonly appliedLsn: Lsn;
}

/** The node's snapshot repository. */
export interface SnapshotSource {
  /** Applied LSN of the partition's newest snapshot in the repository; null if there is none or the repository did not answer. */
  archivedLsn(partition: PartitionId): Promise<Lsn | null>;
  /** Takes a snapshot of this node's replica of `partition` now. */
  create(partition: PartitionId): Promise<TakenSnapshot>;
}

/** The worker role on this node: its partition processors and the log they read. */
export interface WorkerSource {
  readonly processors: ReadonlyMap<PartitionId, PartitionStatusSource>;
  logOf(partition: PartitionId): LogId;
  readonly log: LogTailSource;
  /** Null when no snapshot repository is configured. */
  readonly snapshots: SnapshotSource | null;
}
