import type { Command } from "../../partition/records.ts";
import type { PartitionReplica, ReplicaProgress } from "../../partition/replica.ts";
import type { StoreReader } from "../../storage/partition-store.ts";
import type { LeaderEpoch, Lsn, PartitionId } from "../../types/ids.ts";
import type { ReplicaLeadership } from "./calls.ts";

/**
 * A processor on a partition thread, seen from the main thread: progress read from its store (a
 * read-only connection to the file the thread writes, so always what is committed), leadership as
 * the thread last reported it, appends made there.
 */
export class ThreadedReplica implements PartitionReplica {
  constructor(
    readonly partitionId: PartitionId,
    readonly store: StoreReader,
    private leadership: ReplicaLeadership,
    private readonly append: (partition: PartitionId, command: Command) => Promise<Lsn>,
  ) {}

  get appliedLsn(): Lsn {
    return this.store.read((tx) => tx.appliedLsn());
  }

  get leaderEpoch(): LeaderEpoch {
    return this.store.read((tx) => tx.leaderEpoch());
  }

  progress(): ReplicaProgress {
    return this.store.read((tx) => ({ appliedLsn: tx.appliedLsn(), leaderEpoch: tx.leaderEpoch() }));
  }

  get isLeader(): boolean {
    return this.leadership.isLeader;
  }

  get announcedLeader(): ReplicaLeadership["announcedLeader"] {
    return this.leadership.announcedLeader;
  }

  appendRecord(command: Command): Promise<Lsn> {
    return this.append(this.partitionId, command);
  }

  /** What the thread reported; `lost` once the thread is gone (nothing leads there any more). */
  update(leadership: ReplicaLeadership | "lost"): void {
    this.leadership = leadership === "lost" ? { ...this.leadership, isLeader: false } : leadership;
  }
}
