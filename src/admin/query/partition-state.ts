import type { ClusterStatus, ReplicaStatus } from "../cluster-status.ts";
import type { RowOf } from "./tables.ts";

const MODE = { leader: "Leader", follower: "Follower" } as const;

const nodeText = (id: number, generation: number | undefined) => (generation === undefined ? `N${id}` : `N${id}:${generation}`);

/**
 * `partition_state` rows from the cluster status: one per replica that reported, as Restate's table
 * shows them. Every replica applies records as it reads them and is never replaying, so the replay
 * status is `Active`; the time of the last applied record is not tracked.
 */
export function partitionStateRows(status: ClusterStatus): RowOf<"partition_state">[] {
  return status.partitions.flatMap((p) => p.replicas.map((r) => replicaRow(p.id, r)));
}

function replicaRow(partition: number, r: ReplicaStatus): RowOf<"partition_state"> {
  return {
    partition_id: partition,
    plain_node_id: `N${r.node_id}`,
    gen_node_id: r.generation === undefined ? null : nodeText(r.node_id, r.generation),
    target_mode: MODE[r.planned_mode],
    effective_mode: MODE[r.mode],
    updated_at: r.updated_at ?? null,
    leader_epoch: BigInt(r.leader_epoch),
    leader: r.observed_leader === undefined ? null : nodeText(r.observed_leader, r.observed_leader_generation),
    applied_log_lsn: BigInt(r.applied_lsn),
    replay_status: "Active",
    durable_log_lsn: r.durable_lsn === undefined ? null : BigInt(r.durable_lsn),
    archived_log_lsn: r.archived_lsn === undefined ? null : BigInt(r.archived_lsn),
    target_tail_lsn: r.target_tail_lsn === undefined ? null : BigInt(r.target_tail_lsn),
  };
}
