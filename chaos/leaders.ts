import type { ChaosCluster } from "./cluster.ts";

const POLL_MS = 500;

/** A leader change seen in the partition table: which partition, and when it was seen. */
export interface LeaderChange {
  readonly partition: number;
  readonly at: number;
}

/**
 * Samples the partition table in etcd and counts, per partition, how often its leader (node and
 * leader epoch) changed. A sample that cannot be read (no etcd quorum reachable) is skipped.
 */
export class LeaderWatch {
  private readonly last = new Map<number, string>();
  private readonly changes = new Map<number, number>();
  private readonly events: LeaderChange[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> = Promise.resolve();

  constructor(private readonly cluster: ChaosCluster) {}

  start(): void {
    const tick = (): void => {
      this.sampling = this.sample().finally(() => {
        if (this.timer !== null) this.timer = setTimeout(tick, POLL_MS);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops sampling; the number of leader changes seen per partition id, and each change. */
  async stop(): Promise<{ counts: Map<number, number>; events: LeaderChange[] }> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.sampling;
    return { counts: new Map(this.changes), events: [...this.events] };
  }

  private async sample(): Promise<void> {
    const table = await this.cluster.partitionTable();
    for (const p of table?.partitions ?? []) {
      const leader = `${p.leader ?? "-"}@${p.leaderEpoch ?? "-"}`;
      const before = this.last.get(p.partitionId);
      if (before !== undefined && before !== leader) {
        this.changes.set(p.partitionId, (this.changes.get(p.partitionId) ?? 0) + 1);
        this.events.push({ partition: p.partitionId, at: Date.now() });
      }
      if (!this.changes.has(p.partitionId)) this.changes.set(p.partitionId, 0);
      this.last.set(p.partitionId, leader);
    }
  }
}
