import type { Logger } from "../common/logger.ts";
import { METADATA_KEYS } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { readModifyWrite } from "../metadata/read-modify-write.ts";
import type { PartitionRouter } from "../partition/routing.ts";
import { errorMessage, RepriseError } from "../types/errors.ts";
import { LeaderEpoch, type PlainNodeId } from "../types/ids.ts";
import type { ControllerLease } from "./controller-lease.ts";
import type { Heartbeats } from "./heartbeats.ts";
import { decidePlacement, PARTITION_TABLE_CODEC, type PartitionSpec, type PlacementChange, type PlacementView } from "./placement.ts";

export interface ControllerOptions {
  readonly me: PlainNodeId;
  readonly metadata: MetadataStore;
  readonly lease: ControllerLease;
  readonly heartbeats: Heartbeats;
  readonly router: PartitionRouter;
  /** The cluster's nodes with the worker role, read at every round. */
  readonly workers: () => readonly PlainNodeId[];
  /** Every node of the cluster (for the majority check), read at every round. */
  readonly members: () => readonly PlainNodeId[];
  readonly replicationFactor: number;
  readonly logger: Logger;
  readonly intervalMs?: number;
  /** A node back from dead is not made leader again for this long (no leadership ping-pong). */
  readonly holdBackMs?: number;
  /**
   * How long this node must have seen a majority of the cluster alive before it judges any node
   * dead: silences it observed while it was itself cut off say nothing about the others, and only
   * fresh heartbeats correct them. A controller on the majority side all along acts at once.
   */
  readonly settleMs?: number;
  /**
   * The first placement waits until every registered worker is alive and none registered for this
   * long (or until `formingMaxMs` passed): nodes started together join within moments of each other,
   * and a table placed before they are seen would make the first node leader of every partition,
   * for good, since healthy leaders are never moved.
   */
  readonly formingSettleMs?: number;
  readonly formingMaxMs?: number;
  /** This process's clock (tests pass their own). */
  readonly now?: () => number;
}

const DEFAULT_INTERVAL_MS = 500;
const DEFAULT_HOLD_BACK_MS = 10_000;
const DEFAULT_SETTLE_MS = 4_000;
const DEFAULT_FORMING_SETTLE_MS = 2_000;
const DEFAULT_FORMING_MAX_MS = 10_000;

/**
 * The cluster controller: while this node holds the controller lease, it keeps the partition
 * table placed (decidePlacement) from the failure detector's view and the replicas' reported
 * progress. It acts only while it sees a majority of the cluster alive, so a controller cut off in
 * a minority never judges the majority dead; and every change is a compare-and-swap on the table,
 * which a stale controller only loses.
 */
export class ClusterController {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly lastDead = new Map<PlainNodeId, number>();
  /** Since when this node sees a majority alive without a break; null while it does not. */
  private majoritySince: number | null = null;
  private readonly specs: PartitionSpec[];
  /** While no table exists: the workers registered, since when, and since when this node waits to place. */
  private forming: { workers: string; since: number; waitingSince: number } | null = null;
  /** Leader changes this controller made, per partition (shown by status and the chaos checker). */
  readonly leaderChanges = new Map<number, number>();

  constructor(private readonly o: ControllerOptions) {
    // A node that takes the lease over acts at once rather than at its next round: the dead
    // leader's partitions have waited out the takeover already (half a round more in chaos runs).
    o.lease.onAcquired(() => {
      if (this.timer !== null) void this.tick();
    });
    this.specs = o.router.partitions.map((pid) => {
      const { from, to } = o.router.keyRange(pid);
      return { partitionId: pid, keyRange: { from: from.toString(), to: to.toString() }, logId: o.router.logOf(pid) };
    });
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.tick(), this.o.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round; exposed so tests can drive it. */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = null));
    return this.running;
  }

  private async round(): Promise<void> {
    const now = (this.o.now ?? Date.now)();
    this.noteDeaths(now);
    const members = this.o.members();
    const alive = members.filter((n) => this.o.heartbeats.isAlive(n, now)).length;
    const majority = alive * 2 > members.length;
    this.majoritySince = majority ? (this.majoritySince ?? now) : null;
    if (!this.o.lease.isController || !majority) return;
    const view = this.view(now);
    let changes: PlacementChange[] = [];
    try {
      await readModifyWrite(this.o.metadata, METADATA_KEYS.partitionTable, PARTITION_TABLE_CODEC, (table) => {
        if (table === null && !this.formed(now)) return "unchanged";
        const decision = decidePlacement(table, view);
        if (decision === "unchanged") return "unchanged";
        changes = decision.changes;
        return decision.table;
      });
    } catch (e) {
      if (!(e instanceof RepriseError && e.retryable)) this.o.logger.error({ err: errorMessage(e) }, "placing partitions failed");
      return;
    }
    for (const c of changes) {
      if (c.what === "leader") this.leaderChanges.set(c.partitionId, (this.leaderChanges.get(c.partitionId) ?? 0) + 1);
      this.o.logger.info({ partition: c.partitionId, change: c.what, leader: c.leader, previous: c.previousLeader, epoch: c.leaderEpoch }, "partition placement changed");
    }
  }

  private view(now: number): PlacementView {
    const hb = this.o.heartbeats;
    const holdBackMs = this.o.holdBackMs ?? DEFAULT_HOLD_BACK_MS;
    const settled = this.majoritySince !== null && now - this.majoritySince >= (this.o.settleMs ?? DEFAULT_SETTLE_MS);
    return {
      partitions: this.specs,
      workers: [...this.o.workers()].sort((a, b) => a - b),
      replicationFactor: this.o.replicationFactor,
      health: (node) => {
        if (node === this.o.me) return "alive";
        const state = hb.detector.stateOf(node, now) ?? "dead";
        return state === "dead" && !settled ? "suspect" : state;
      },
      heldBack: (node) => {
        const deadAt = this.lastDead.get(node);
        return deadAt !== undefined && now - deadAt < holdBackMs;
      },
      appliedLsn: (partition, node) => hb.replicaReport(node, partition)?.appliedLsn,
      highestLogEpoch: (partition) => {
        let highest: number | undefined;
        for (const node of this.o.members()) {
          const epoch = hb.replicaReport(node, partition)?.logEpoch;
          if (epoch !== undefined && (highest === undefined || epoch > highest)) highest = epoch;
        }
        return highest === undefined ? undefined : LeaderEpoch(highest);
      },
    };
  }

  /** Whether the cluster looks formed enough for its first placement (see `formingSettleMs`). */
  private formed(now: number): boolean {
    const workers = [...this.o.workers()].sort((a, b) => a - b);
    const key = workers.join(",");
    if (this.forming?.workers !== key) this.forming = { workers: key, since: now, waitingSince: this.forming?.waitingSince ?? now };
    const allAlive = workers.every((n) => n === this.o.me || this.o.heartbeats.isAlive(n, now));
    if (allAlive && now - this.forming.since >= (this.o.formingSettleMs ?? DEFAULT_FORMING_SETTLE_MS)) return true;
    return now - this.forming.waitingSince >= (this.o.formingMaxMs ?? DEFAULT_FORMING_MAX_MS);
  }

  /** Remembers when each node was last seen dead, for the hold-back after it returns. */
  private noteDeaths(now: number): void {
    for (const h of this.o.heartbeats.health(now)) if (h.state === "dead") this.lastDead.set(h.node, now);
  }
}
