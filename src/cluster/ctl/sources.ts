import type { LogTail } from "../../bifrost/bifrost.ts";
import type { LeaderEpoch, LogId, Lsn, PartitionId } from "../../types/ids.ts";

// What the restatectl API reads from the parts of a node, each through the least it needs.

/** One partition processor's leadership and progress; `PartitionProcessor` has these. */
export interface PartitionStatusSource {
  readonly isLeader: boolean;
  readonly leaderEpoch: LeaderEpoch;
  readonly appliedLsn: Lsn;
  /** The node the log last announced as leader; null before any announcement. */
  readonly announcedLeader: { readonly nodeId: number } | null;
}

/** The log as Bifrost serves it. */
export interface LogTailSource {
  describeTail(logId: LogId): Promise<LogTail>;
  getTrimPoint(logId: LogId): Promise<Lsn>;
}

/** The worker role on this node: its partition processors and the log they read. */
export interface WorkerSource {
  readonly processors: ReadonlyMap<PartitionId, PartitionStatusSource>;
  logOf(partition: PartitionId): LogId;
  readonly log: LogTailSource;
}
