import { sendJson } from "../common/http-util.ts";
import { UnavailableError } from "../types/errors.ts";
import type { AdminRoute } from "./server.ts";

/**
 * `GET /cluster/status`: the nodes, partitions and logs as this node sees them, in one JSON
 * document (the web UI's cluster page). It reads what `restatectl status` reads; the cluster layer
 * implements the source, since admin sits below it.
 */
export interface ClusterStatus {
  readonly cluster_name: string;
  /** The node answering. */
  readonly node_id: number;
  readonly nodes: readonly ClusterNodeStatus[];
  readonly partitions: readonly PartitionStatus[];
  readonly logs: readonly LogStatus[];
  /** Default provider of new log segments: `local` or `replicated`. */
  readonly log_provider: string;
}

export interface ClusterNodeStatus {
  readonly id: number;
  readonly generation: number;
  readonly name: string;
  readonly address: string;
  readonly roles: readonly string[];
  /** `alive` when it answered for itself just now, else `dead`. */
  readonly state: "alive" | "dead";
  readonly uptime_s?: number;
  /** Its log server's storage state, when it runs one. */
  readonly log_server_state?: string;
}

export interface PartitionStatus {
  readonly id: number;
  readonly key_range: { readonly from: string; readonly to: string };
  readonly log_id: number;
  /** Where the partition table places the leader and followers. */
  readonly planned_leader?: number;
  readonly planned_followers: readonly number[];
  /** Each live replica's own report. */
  readonly replicas: readonly ReplicaStatus[];
}

export interface ReplicaStatus {
  readonly node_id: number;
  /** The generation of the node's process that reported. */
  readonly generation?: number;
  /** When the node read this report off its processor (ms since the epoch). */
  readonly updated_at?: number;
  /** The mode the placement asked of this replica, and the mode it runs in. */
  readonly planned_mode: "leader" | "follower";
  readonly mode: "leader" | "follower";
  readonly leader_epoch: number;
  readonly applied_lsn: number;
  /** Applied LSN that survives a crash of the process. */
  readonly durable_lsn?: number;
  /** Applied LSN of the partition's newest snapshot in the repository; absent without one. */
  readonly archived_lsn?: number;
  /** The log's tail this replica catches up to. */
  readonly target_tail_lsn?: number;
  /** The leader this replica last saw announced, and that leader's generation when known. */
  readonly observed_leader?: number;
  readonly observed_leader_generation?: number;
}

export interface LogStatus {
  readonly id: number;
  readonly segments: readonly LogSegmentStatus[];
  /** Read from the log when this node runs a worker. */
  readonly tail?: { readonly lsn: number; readonly sealed: boolean; readonly segment_index: number };
  readonly trim_point?: number;
}

export interface LogSegmentStatus {
  readonly index: number;
  readonly base_lsn: number;
  readonly provider: string;
  /** Provider parameters, e.g. a replicated segment's sequencer, nodeset and replication. */
  readonly params: Readonly<Record<string, unknown>>;
}

export interface ClusterStatusSource {
  status(): Promise<ClusterStatus>;
}

/** The route; `source` is null until the node's control API is up (it starts after the admin port). */
export function clusterStatusRoutes(source: () => ClusterStatusSource | null): AdminRoute[] {
  return [
    {
      method: "GET",
      pattern: /^\/cluster\/status$/,
      async handle(_req, res) {
        const s = source();
        if (s === null) throw new UnavailableError("the node is still starting; its cluster status is not available yet", "cluster_status_unavailable");
        sendJson(res, 200, await s.status());
      },
    },
  ];
}
