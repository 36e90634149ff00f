import type { ClusterNodeStatus, ClusterStatus, ClusterStatusSource, LogStatus, PartitionStatus, ReplicaStatus } from "../../admin/cluster-status.ts";
import type { LogChain, NodesConfiguration } from "../../metadata/documents.ts";
import { RunMode } from "../../net/ctl/gen/restate/cluster_pb.ts";
import { errorMessage } from "../../types/errors.ts";
import { LogId } from "../../types/ids.ts";
import { clusterNodes } from "./cluster-state.ts";
import type { ControlContext } from "./control-context.ts";

type NodeStates = Awaited<ReturnType<typeof clusterNodes>>;

/**
 * The admin API's cluster status from the same sources as restatectl's answers: the metadata
 * documents, each node's own report of its replicas (peers asked as `restatectl status` asks
 * them), and this node's log reader for tails.
 */
export function clusterStatusSource(ctx: ControlContext): ClusterStatusSource {
  return {
    async status(): Promise<ClusterStatus> {
      const [nodes, table, logs] = await Promise.all([ctx.documents.nodes(), ctx.documents.partitionTable(), ctx.documents.logs()]);
      const states = await clusterNodes(ctx, nodes?.doc ?? null, false);
      return {
        cluster_name: ctx.clusterName,
        node_id: ctx.me.id,
        nodes: nodeStatuses(nodes?.doc ?? null, states),
        partitions: (table?.doc.partitions ?? []).map((p): PartitionStatus => ({
          id: p.partitionId,
          key_range: p.keyRange,
          log_id: p.logId,
          ...(p.leader === undefined ? {} : { planned_leader: p.leader }),
          planned_followers: p.followers,
          replicas: replicasOf(states, p.partitionId),
        })),
        logs: await Promise.all((logs?.doc.logs ?? []).map((chain) => logStatus(ctx, chain))),
        log_provider: logs?.doc.defaultProvider ?? "local",
      };
    },
  };
}

function nodeStatuses(nodes: NodesConfiguration | null, states: NodeStates): ClusterNodeStatus[] {
  return (nodes?.nodes ?? []).map((n) => {
    const state = states[n.id]?.state;
    const alive = state?.case === "alive" ? state.value : undefined;
    return {
      id: n.id,
      generation: n.generation,
      name: n.name,
      address: n.address,
      roles: n.roles,
      state: alive === undefined ? "dead" : "alive",
      ...(alive?.uptimeS === undefined ? {} : { uptime_s: Number(alive.uptimeS) }),
      ...(n.logServer === undefined ? {} : { log_server_state: n.logServer.storageState }),
    };
  });
}

function replicasOf(states: NodeStates, partition: number): ReplicaStatus[] {
  const replicas: ReplicaStatus[] = [];
  for (const [node, entry] of Object.entries(states)) {
    if (entry.state?.case !== "alive") continue;
    const p = entry.state.value.partitions?.[partition];
    if (p === undefined) continue;
    const generation = entry.state.value.generationalNodeId?.generation;
    const leader = p.lastObservedLeaderNode;
    replicas.push({
      node_id: Number(node),
      ...(generation === undefined ? {} : { generation }),
      ...(p.updatedAt === undefined ? {} : { updated_at: Number(p.updatedAt.seconds ?? 0n) * 1000 + Math.floor((p.updatedAt.nanos ?? 0) / 1e6) }),
      planned_mode: p.plannedMode === RunMode.LEADER ? "leader" : "follower",
      mode: p.effectiveMode === RunMode.LEADER ? "leader" : "follower",
      leader_epoch: Number(p.lastObservedLeaderEpoch?.value ?? 0),
      applied_lsn: Number(p.lastAppliedLogLsn?.value ?? 0),
      ...(p.durableLsn?.value === undefined ? {} : { durable_lsn: Number(p.durableLsn.value) }),
      ...(p.lastArchivedLogLsn?.value === undefined ? {} : { archived_lsn: Number(p.lastArchivedLogLsn.value) }),
      ...(p.targetTailLsn?.value === undefined ? {} : { target_tail_lsn: Number(p.targetTailLsn.value) }),
      ...(leader?.id === undefined ? {} : { observed_leader: leader.id }),
      ...(leader?.generation === undefined ? {} : { observed_leader_generation: leader.generation }),
    });
  }
  return replicas.sort((a, b) => a.node_id - b.node_id);
}

/** A log's chain from the Logs document, and its tail and trim point when this node reads logs. */
async function logStatus(ctx: ControlContext, chain: LogChain): Promise<LogStatus> {
  const segments = chain.segments.map((s) => ({ index: s.index, base_lsn: s.baseLsn, provider: s.provider, params: s.params }));
  const worker = ctx.worker();
  if (worker === null) return { id: chain.logId, segments };
  try {
    const [tail, trim] = await Promise.all([worker.log.describeTail(LogId(chain.logId)), worker.log.getTrimPoint(LogId(chain.logId))]);
    return { id: chain.logId, segments, tail: { lsn: tail.tail, sealed: tail.sealed, segment_index: tail.segmentIndex }, trim_point: trim };
  } catch (e) {
    // One unreadable tail (a sealed segment's servers away) leaves the rest of the page intact.
    ctx.logger.debug({ log: chain.logId, err: errorMessage(e) }, "log tail not readable for the cluster status");
    return { id: chain.logId, segments };
  }
}
