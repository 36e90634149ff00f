import type { ReadOnlyPartitionStore } from "../storage/partition-store.ts";
import type { LeaderEpoch, Lsn, PartitionId } from "../types/ids.ts";
import type { Command } from "./records.ts";

/** How far a replica has applied its log, and the leader epoch that state holds. */
export interface ReplicaProgress {
  readonly appliedLsn: Lsn;
  readonly leaderEpoch: LeaderEpoch;
}

/**
 * A node's replica of one partition as the rest of the node sees it: its progress and leadership,
 * its store's read side, and appends to its log. The `PartitionProcessor` is one, in process; a
 * processor on a partition thread is seen through another (`cluster/partition-thread/`), whose
 * store is a read-only connection to the same file.
 */
export interface PartitionReplica {
  readonly partitionId: PartitionId;
  readonly store: ReadOnlyPartitionStore;
  readonly appliedLsn: Lsn;
  readonly isLeader: boolean;
  readonly leaderEpoch: LeaderEpoch;
  /** The node the log last announced as leader, and its epoch; null before any announcement. */
  readonly announcedLeader: { readonly epoch: LeaderEpoch; readonly nodeId: number } | null;
  /**
   * Applied LSN and leader epoch from one state of the store: where the store is written on
   * another thread, reading them one after the other can pair an LSN with a later epoch.
   */
  progress(): ReplicaProgress;
  /** Appends a record that carries no leader epoch; resolves with its LSN once it is durable. */
  appendRecord(command: Command): Promise<Lsn>;
}
