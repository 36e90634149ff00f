import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { NodesConfiguration } from "../../metadata/documents.ts";
import { LOCAL_SCOPE, LOCAL_SCOPE_HEADER, withPeerClusterCtrl } from "../../net/ctl/peer-client.ts";
import {
  DetailedRunMode,
  ReplayStatus,
  RunMode,
  type AliveNodeSchema,
  type NodeStateSchema,
  type PartitionProcessorStatusSchema,
} from "../../net/ctl/gen/restate/cluster_pb.ts";
import { errorMessage } from "../../types/errors.ts";
import type { PartitionId } from "../../types/ids.ts";
import type { ControlContext } from "./control-context.ts";
import type { PartitionStatusSource, WorkerSource } from "./sources.ts";

type AliveNodeInit = MessageInitShape<typeof AliveNodeSchema>;
type NodeStateInit = MessageInitShape<typeof NodeStateSchema>;
type PartitionStatusInit = MessageInitShape<typeof PartitionProcessorStatusSchema>;

/** How long the node restatectl asks waits for each peer's own state; a peer that misses it is shown dead. */
const PEER_TIMEOUT_MS = 1_000;

/**
 * Every node of `nodes`: this one from its own processors, the others as each answers for itself
 * (with `localOnly`, this node alone: a peer is asking).
 */
export async function clusterNodes(ctx: ControlContext, nodes: NodesConfiguration | null, localOnly: boolean): Promise<Record<number, NodeStateInit>> {
  const entries: Record<number, NodeStateInit> = { [ctx.me.id]: { state: { case: "alive", value: await aliveSelf(ctx) } } };
  if (localOnly || nodes === null) return entries;
  const peers = nodes.nodes.filter((n) => n.id !== ctx.me.id);
  const answers = await Promise.all(peers.map((peer) => peerState(ctx, peer.id, peer.address)));
  peers.forEach((peer, i) => (entries[peer.id] = answers[i]));
  return entries;
}

async function peerState(ctx: ControlContext, id: number, address: string): Promise<NodeStateInit> {
  try {
    const response = await withPeerClusterCtrl(address, (client) =>
      client.getClusterState({}, { headers: { [LOCAL_SCOPE_HEADER]: LOCAL_SCOPE }, timeoutMs: PEER_TIMEOUT_MS }),
    );
    const state = response.clusterState?.nodes[id];
    if (state?.state.case === "alive") return state;
  } catch (e) {
    ctx.logger.debug({ peer: id, address, err: errorMessage(e) }, "peer did not answer for its cluster state");
  }
  return { state: { case: "dead", value: {} } };
}

async function aliveSelf(ctx: ControlContext): Promise<AliveNodeInit> {
  const now = Date.now();
  const worker = ctx.worker();
  const partitions: Record<number, PartitionStatusInit> = {};
  if (worker !== null) {
    for (const [pid, processor] of worker.processors) partitions[pid] = await partitionStatus(ctx, worker, pid, processor, now);
  }
  return {
    generationalNodeId: { id: ctx.me.id, generation: ctx.me.generation },
    lastHeartbeatAt: timestampFromMs(now),
    partitions,
    uptimeS: BigInt(Math.floor((now - ctx.startedAtMs) / 1000)),
  };
}

/**
 * A processor as restatectl shows it, read live (so "updated" is now). The durable LSN is the
 * applied one: the partition store commits the applied LSN in the same transaction as the state it
 * covers (SQLite WAL, synchronous=NORMAL), so it survives a process crash; no separately flushed
 * LSN is tracked. The archived LSN is the applied LSN of the partition's newest snapshot in the
 * repository, absent without a repository, before the first snapshot or when the repository did
 * not answer.
 */
async function partitionStatus(
  ctx: ControlContext,
  worker: WorkerSource,
  partition: PartitionId,
  processor: PartitionStatusSource,
  now: number,
): Promise<PartitionStatusInit> {
  const mode = processor.isLeader ? RunMode.LEADER : RunMode.FOLLOWER;
  // A follower knows the leader's node from the log's announcement, not its generation.
  const announced = processor.announcedLeader;
  const leader = processor.isLeader ? { id: ctx.me.id, generation: ctx.me.generation } : announced === null ? undefined : { id: announced.nodeId };
  const { tail } = await worker.log.describeTail(worker.logOf(partition));
  const progress = processor.progress();
  const applied = BigInt(progress.appliedLsn);
  const archived = (await worker.snapshots?.archivedLsn(partition)) ?? null;
  return {
    updatedAt: timestampFromMs(now),
    plannedMode: mode,
    effectiveMode: mode,
    detailedEffectiveMode: processor.isLeader ? DetailedRunMode.DetailedRunMode_LEADER : DetailedRunMode.DetailedRunMode_FOLLOWER,
    lastObservedLeaderEpoch: { value: BigInt(progress.leaderEpoch) },
    ...(leader === undefined ? {} : { lastObservedLeaderNode: leader }),
    lastAppliedLogLsn: { value: applied },
    replayStatus: ReplayStatus.ACTIVE,
    durableLsn: { value: applied },
    targetTailLsn: { value: BigInt(tail) },
    ...(archived === null ? {} : { lastArchivedLogLsn: { value: BigInt(archived) } }),
  };
}
