import { documentCodec, type PartitionPlacement, type PartitionTable } from "../metadata/documents.ts";
import { LeaderEpoch, type LogId, type Lsn, type PartitionId, type PlainNodeId } from "../types/ids.ts";
import type { NodeHealthState } from "./failure-detector.ts";

export const PARTITION_TABLE_CODEC = documentCodec<PartitionTable>();

export interface PartitionSpec {
  readonly partitionId: PartitionId;
  readonly keyRange: { readonly from: string; readonly to: string };
  readonly logId: LogId;
}

/** What the controller knows when it decides; every function answers from its latest view. */
export interface PlacementView {
  readonly partitions: readonly PartitionSpec[];
  /** Nodes with the worker role, in node-id order. */
  readonly workers: readonly PlainNodeId[];
  /** Replicas per partition (leader included), at most the number of workers. */
  readonly replicationFactor: number;
  health(node: PlainNodeId): NodeHealthState;
  /** A node that failed recently is not made leader again until it has been back a while. */
  heldBack(node: PlainNodeId): boolean;
  /** The applied LSN a replica reported, if it did. */
  appliedLsn(partition: PartitionId, node: PlainNodeId): Lsn | undefined;
  /** The highest leader epoch any replica reported from its store (epochs announced in the log). */
  highestLogEpoch(partition: PartitionId): LeaderEpoch | undefined;
}

export interface PlacementChange {
  readonly partitionId: PartitionId;
  readonly what: "placed" | "replicas" | "leader";
  readonly leader?: PlainNodeId;
  readonly previousLeader?: PlainNodeId;
  readonly leaderEpoch?: LeaderEpoch;
}

/**
 * The controller's decision as a pure function of the current table and its view. The rules keep
 * leadership stable: a leader that is alive or only suspect is never moved; a dead leader is
 * replaced by the alive, not held back replica with the highest applied LSN (the one that needs the
 * least catching up); replicas are only ever added, up to the replication factor, so a node that
 * returns finds its replicas where it left them and follows. Every new leader gets an epoch above
 * both the table's and any epoch the log has announced, so its announcement always wins.
 */
export function decidePlacement(table: PartitionTable | null, view: PlacementView): { table: PartitionTable; changes: PlacementChange[] } | "unchanged" {
  const current = new Map((table?.partitions ?? []).map((p) => [p.partitionId, p]));
  const changes: PlacementChange[] = [];
  const partitions = view.partitions.map((spec) => {
    const before = current.get(spec.partitionId);
    const after = placePartition(spec, before, view);
    if (before === undefined) changes.push({ partitionId: spec.partitionId, what: "placed", leader: after.leader, leaderEpoch: after.leaderEpoch });
    else if (after.leader !== before.leader) {
      changes.push({ partitionId: spec.partitionId, what: "leader", leader: after.leader, previousLeader: before.leader, leaderEpoch: after.leaderEpoch });
    } else if (!sameSet(replicasOf(after), replicasOf(before))) changes.push({ partitionId: spec.partitionId, what: "replicas" });
    return after;
  });
  return changes.length === 0 && table !== null && table.partitions.length === partitions.length ? "unchanged" : { table: { partitions }, changes };
}

export function replicasOf(p: PartitionPlacement): PlainNodeId[] {
  return p.leader === undefined ? [...p.followers] : [p.leader, ...p.followers.filter((f) => f !== p.leader)];
}

function placePartition(spec: PartitionSpec, before: PartitionPlacement | undefined, view: PlacementView): PartitionPlacement {
  const preference = rotation(view.workers, spec.partitionId);
  const workers = new Set(view.workers);
  const replicas = (before ? replicasOf(before) : []).filter((n) => workers.has(n));
  const wanted = Math.min(view.replicationFactor, view.workers.length);
  // New replicas: alive workers first, each group in this partition's rotation, so leaders spread.
  const candidates = [...preference.filter((n) => view.health(n) === "alive"), ...preference.filter((n) => view.health(n) !== "alive")];
  for (const node of candidates) {
    if (replicas.length >= wanted) break;
    if (!replicas.includes(node)) replicas.push(node);
  }

  let leader = before?.leader !== undefined && replicas.includes(before.leader) ? before.leader : undefined;
  let leaderEpoch = before?.leaderEpoch;
  if (leader === undefined || view.health(leader) === "dead") {
    const next = chooseLeader(spec.partitionId, replicas, preference, view);
    if (next !== undefined && next !== leader) {
      leader = next;
      leaderEpoch = LeaderEpoch(Math.max(before?.leaderEpoch ?? 0, view.highestLogEpoch(spec.partitionId) ?? 0) + 1);
    }
  }
  const followers = replicas.filter((n) => n !== leader);
  return {
    partitionId: spec.partitionId,
    keyRange: spec.keyRange,
    logId: spec.logId,
    ...(leader !== undefined ? { leader } : {}),
    followers,
    ...(leaderEpoch !== undefined ? { leaderEpoch } : {}),
  };
}

function chooseLeader(partition: PartitionId, replicas: readonly PlainNodeId[], preference: readonly PlainNodeId[], view: PlacementView): PlainNodeId | undefined {
  const eligible = replicas.filter((n) => view.health(n) === "alive" && !view.heldBack(n));
  if (eligible.length === 0) return undefined;
  const rank = (n: PlainNodeId) => preference.indexOf(n);
  return eligible.reduce((best, n) => {
    const a = view.appliedLsn(partition, n) ?? -1;
    const b = view.appliedLsn(partition, best) ?? -1;
    return a > b || (a === b && rank(n) < rank(best)) ? n : best;
  });
}

/** The workers starting at the partition's position, so partitions' first choices spread evenly. */
function rotation(workers: readonly PlainNodeId[], partition: PartitionId): PlainNodeId[] {
  if (workers.length === 0) return [];
  const start = partition % workers.length;
  return [...workers.slice(start), ...workers.slice(0, start)];
}

/** Whether two node lists hold the same nodes, in any order. */
export function sameSet(a: readonly PlainNodeId[], b: readonly PlainNodeId[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
