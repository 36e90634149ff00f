import { withDeadline } from "../common/deadline.ts";
import type { Logger } from "../common/logger.ts";
import type { BifrostImpl } from "../bifrost/bifrost-impl.ts";
import { decodeDocument, METADATA_KEYS, type PartitionPlacement, type PartitionTable, type SegmentConfig } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { readModifyWrite } from "../metadata/read-modify-write.ts";
import { createClient, type ServiceClient } from "../net/client.ts";
import type { NodeConnections } from "../net/connections.ts";
import { PartitionSvc } from "../net/gen/cluster_pb.ts";
import { parseReplicatedParams, type ReplicatedLogletParams } from "../net/loglet-params.ts";
import { sameNode } from "../net/node-id.ts";
import type { ServiceImpl } from "../net/server.ts";
import type { RemoteLeaders } from "../partition/dispatcher.ts";
import { decodeForwardedCommand, encodeForwardedCommand, type Command } from "../partition/records.ts";
import { errorMessage, UnavailableError } from "../types/errors.ts";
import { formatNodeId, LeaderEpoch, Lsn, PartitionId, PlainNodeId, type GenerationalNodeId, type LogId } from "../types/ids.ts";
import type { ReplicaReport } from "./heartbeats.ts";
import type { Node } from "./node.ts";
import { PARTITION_TABLE_CODEC, replicasOf, sameSet } from "./placement.ts";
import type { ReplicatedSegments } from "./replicated-segments.ts";

/** Re-read the table this often in case a watch event was lost (a watch resumes, but be sure). */
const TABLE_REFRESH_MS = 2_000;
/** Pause before retrying a leadership step that failed (seal without quorum yet, store unreachable). */
const LEAD_RETRY_MS = 500;
/**
 * How long one round of the leadership steps may take before it is given up and started again.
 * Every step is idempotent (the epoch claim and the chain extension are compare-and-swaps, a seal
 * in progress is shared), so a round stuck on a call that never answers costs this long instead of
 * leaving the partition without a writable tail: in a chaos run a leader's re-placement of its tail
 * after a majority/minority split waited 130 s on such a call, until a node restart broke it.
 */
const LEAD_ROUND_TIMEOUT_MS = 15_000;

export interface PartitionReplicasOptions {
  readonly me: GenerationalNodeId;
  readonly node: Node;
  readonly bifrost: BifrostImpl;
  readonly metadata: MetadataStore;
  readonly connections: NodeConnections;
  readonly segments: ReplicatedSegments;
  readonly logger: Logger;
}

/**
 * Carries out the partition table on this node: a replica for every partition that lists this
 * node, following its log; leadership where the table names this node, with the epoch it gives.
 * Becoming leader takes two steps, each retried until it completes or the table changes: make this
 * node the sequencer of the partition log's tail (seal the old segment on a quorum of its log
 * servers, which fences the old leader's appends, and add a segment sequenced here by
 * compare-and-swap on `Logs`), then announce the epoch in the log. While leading, the tail is
 * re-placed when the set of live read-write log servers changes. The table also tells where other
 * partitions' leaders run, for the dispatcher (`RemoteLeaders`).
 */
export class PartitionReplicas implements Pick<RemoteLeaders, "leaderOf" | "replicasOf" | "propose"> {
  private table: PartitionTable | null = null;
  private readonly unwatch: () => void;
  private readonly refresh: NodeJS.Timeout;
  private readonly transitions = new Map<PartitionId, Promise<void>>();
  /** Epochs this process obtained per partition (see `claimEpoch`). */
  private readonly claimed = new Map<PartitionId, LeaderEpoch>();
  private readonly clients = new Map<number, ServiceClient<typeof PartitionSvc>>();
  private stopped = false;

  constructor(private readonly o: PartitionReplicasOptions) {
    this.unwatch = o.metadata.watch(METADATA_KEYS.partitionTable, (e) => e.value && this.apply(decodeDocument<PartitionTable>(e.value.value)));
    this.refresh = setInterval(() => void this.reload(), TABLE_REFRESH_MS);
    this.refresh.unref();
  }

  async start(): Promise<void> {
    await this.reload();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch();
    clearInterval(this.refresh);
    await Promise.allSettled(this.transitions.values());
  }

  leaderOf(partition: PartitionId): number | undefined {
    return this.placement(partition)?.leader;
  }

  replicasOf(partition: PartitionId): readonly number[] {
    const placement = this.placement(partition);
    return placement === undefined ? [] : replicasOf(placement);
  }

  async propose(node: number, partition: PartitionId, command: Command, timeoutMs: number): Promise<void> {
    await this.client(node).propose({ partitionId: partition, command: encodeForwardedCommand(command) }, { timeoutMs });
  }

  /** PartitionSvc answers: commands other nodes forward to the partitions this node leads. */
  service(): ServiceImpl<typeof PartitionSvc> {
    return {
      propose: async (request, ctx) => {
        const command = decodeForwardedCommand(request.command, "a peer");
        const lsn = await this.o.node.dispatcher.acceptForwarded(PartitionId(request.partitionId), command, ctx.timeoutMs);
        return { lsn: BigInt(lsn) };
      },
    };
  }

  /** What heartbeats report about this node's replicas. */
  reports(): ReplicaReport[] {
    return [...this.o.node.processors.values()].map((p) => {
      const { appliedLsn, leaderEpoch } = p.progress();
      return { partitionId: p.partitionId, appliedLsn, logEpoch: leaderEpoch, leader: p.isLeader };
    });
  }

  /** Re-places the tail of every log this node leads (membership or liveness of log servers changed). */
  replaceLedTails(): void {
    for (const p of this.table?.partitions ?? []) {
      if (p.leader === this.o.me.id && p.leaderEpoch !== undefined) this.ensureLeading(p.partitionId, p.leaderEpoch);
    }
  }

  private placement(partition: PartitionId): PartitionPlacement | undefined {
    return this.table?.partitions.find((p) => p.partitionId === partition);
  }

  private async reload(): Promise<void> {
    try {
      const stored = await this.o.metadata.get(METADATA_KEYS.partitionTable);
      if (stored !== null) this.apply(decodeDocument<PartitionTable>(stored.value));
    } catch (e) {
      this.o.logger.debug({ err: errorMessage(e) }, "reading the partition table failed; will retry");
    }
  }

  private apply(table: PartitionTable): void {
    if (this.stopped) return;
    this.table = table;
    for (const p of table.partitions) {
      if (!replicasOf(p).includes(this.o.me.id)) continue;
      const processor = this.o.node.addReplica(p.partitionId);
      if (p.leader === this.o.me.id && p.leaderEpoch !== undefined) this.ensureLeading(p.partitionId, p.leaderEpoch);
      else if (processor.isLeader) {
        this.o.logger.info({ partition: p.partitionId, leader: p.leader }, "partition table names another leader; resigning");
        processor.resign();
      }
    }
  }

  /** Runs the leadership steps for `epoch`, one transition per partition at a time. */
  private ensureLeading(partition: PartitionId, epoch: LeaderEpoch): void {
    if (this.transitions.has(partition)) return;
    const run = this.lead(partition, epoch).finally(() => this.transitions.delete(partition));
    this.transitions.set(partition, run);
  }

  private async lead(partition: PartitionId, assigned: LeaderEpoch): Promise<void> {
    const logId = this.o.node.router.logOf(partition);
    for (;;) {
      const current = this.placement(partition);
      if (this.stopped || current?.leader !== this.o.me.id || current.leaderEpoch === undefined || current.leaderEpoch < assigned) return;
      try {
        await withDeadline(this.leadRound(partition, logId), LEAD_ROUND_TIMEOUT_MS, () => new UnavailableError(`partition ${partition}: the leadership steps did not finish in ${LEAD_ROUND_TIMEOUT_MS} ms`, "lead_round_timeout"));
        return;
      } catch (e) {
        if (this.stopped) return;
        this.o.logger.warn({ partition, assigned, err: errorMessage(e) }, "taking leadership failed; retrying");
        await new Promise((r) => setTimeout(r, LEAD_RETRY_MS));
      }
    }
  }

  /** Claims an epoch, makes this node the sequencer of the log's tail and leads with that epoch. */
  private async leadRound(partition: PartitionId, logId: LogId): Promise<void> {
    const epoch = await this.claimEpoch(partition);
    if (epoch === null) return;
    await this.sequenceHere(logId);
    const processor = this.o.node.localProcessors.get(partition)!;
    if (!(processor.isLeader && processor.leaderEpoch === epoch)) {
      await processor.lead(epoch);
      this.o.logger.info({ partition, epoch, node: formatNodeId(this.o.me) }, "leading partition");
    }
  }

  /**
   * An epoch of this process's own for the partition, obtained by compare-and-swap on the table,
   * so no other node can lead with it: the table's epoch if this process claimed it or the log has
   * not announced it yet (the controller's fresh assignment), else one above both the table's and
   * the log's (a restarted leader whose earlier process announced the table's epoch). Null if the
   * table no longer names this node.
   */
  private async claimEpoch(partition: PartitionId): Promise<LeaderEpoch | null> {
    const claimed = this.claimed.get(partition);
    // The epoch the log announced last, as of its tail now (a restarted node's store may lag).
    const processor = this.o.node.localProcessors.get(partition)!;
    if (claimed === undefined) await processor.catchUp();
    const inLog = processor.leaderEpoch;
    const { value } = await readModifyWrite(this.o.metadata, METADATA_KEYS.partitionTable, PARTITION_TABLE_CODEC, (table) => {
      const p = table?.partitions.find((x) => x.partitionId === partition);
      if (table === null || p === undefined || p.leader !== this.o.me.id) return "unchanged";
      // The controller's assignment is this node's to use while the log has not announced it yet;
      // once announced (by this process, or by an earlier one of this node), only a new one will do.
      if (p.leaderEpoch !== undefined && (p.leaderEpoch === claimed || p.leaderEpoch > inLog)) return "unchanged";
      const epoch = LeaderEpoch(Math.max(p.leaderEpoch ?? 0, inLog) + 1);
      return { partitions: table.partitions.map((x) => (x.partitionId === partition ? { ...x, leaderEpoch: epoch } : x)) };
    });
    const mine = value.partitions.find((x) => x.partitionId === partition);
    if (mine?.leader !== this.o.me.id || mine.leaderEpoch === undefined) return null;
    this.claimed.set(partition, mine.leaderEpoch);
    this.apply(value);
    return mine.leaderEpoch;
  }

  /** Makes this node the sequencer of the log's tail segment, over the live read-write log servers. */
  private async sequenceHere(logId: LogId): Promise<void> {
    const chain = await this.o.bifrost.getChain(logId);
    const tail = chain.segments[chain.segments.length - 1];
    const desired = await this.o.segments.desired();
    if (!(await mustReplaceTail(tail, desired, this.o.me, async () => (await this.o.bifrost.describeTail(logId)).sealed))) return;
    const next = await this.o.bifrost.sealAndExtend(logId, { provider: "replicated", params: { ...desired }, ...(tail ? { sealIndex: tail.index } : {}) });
    this.o.logger.info({ logId, segment: next.index, baseLsn: Lsn(next.baseLsn), nodeset: desired.nodeset, replication: desired.replication }, "log tail sequenced here");
  }

  private client(node: number): ServiceClient<typeof PartitionSvc> {
    let client = this.clients.get(node);
    if (client === undefined) {
      client = createClient(PartitionSvc, this.o.connections.channel(PlainNodeId(node)));
      this.clients.set(node, client);
    }
    return client;
  }
}

/**
 * Whether a leader must seal its log's tail segment and add one it sequences: unless the tail is
 * already sequenced here over the wanted nodeset and replication, and still open. A seal that
 * reached the loglet but not the chain (its compare-and-swap failed, or its answer was lost) leaves
 * a tail that refuses every append, and only this leader would ever replace it: the partition
 * stalled for minutes in two chaos runs when a leader took such a tail for its own open one.
 */
export async function mustReplaceTail(tail: SegmentConfig | undefined, desired: ReplicatedLogletParams, me: GenerationalNodeId, tailSealed: () => Promise<boolean>): Promise<boolean> {
  if (tail === undefined || tail.provider !== "replicated") return true;
  const current = parseReplicatedParams(tail.params);
  if (!sameNode(current.sequencer, me) || current.replication !== desired.replication || !sameSet(current.nodeset, desired.nodeset)) return true;
  return tailSealed();
}
