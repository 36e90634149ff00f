import type { Logger } from "../common/logger.ts";
import { createClient, type ServiceClient } from "../net/client.ts";
import type { NodeConnections } from "../net/connections.ts";
import { NodeSvc } from "../net/gen/cluster_pb.ts";
import { toWireNodeId } from "../net/node-id.ts";
import type { ServiceImpl } from "../net/server.ts";
import { LeaderEpoch, Lsn, PartitionId, type GenerationalNodeId, type PlainNodeId } from "../types/ids.ts";
import { DEFAULT_FAILURE_TIMEOUTS, FailureDetector, type FailureDetectorTimeouts, type NodeHealth } from "./failure-detector.ts";

/** One replica's progress as its node reports it. */
export interface ReplicaReport {
  readonly partitionId: PartitionId;
  readonly appliedLsn: Lsn;
  readonly logEpoch: LeaderEpoch;
  readonly leader: boolean;
}

export interface HeartbeatOptions {
  readonly me: GenerationalNodeId;
  readonly connections: NodeConnections;
  /** The cluster's other nodes, read at every round (membership changes while running). */
  readonly peers: () => readonly PlainNodeId[];
  /** This node's replicas, answered to every ping. */
  readonly localReplicas: () => readonly ReplicaReport[];
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly timeouts?: FailureDetectorTimeouts;
}

const DEFAULT_INTERVAL_MS = 500;

/**
 * Pings every other node each `intervalMs` with a bounded timeout and feeds the answers to a
 * failure detector, together with what each node says about its replicas. Every node runs this, so
 * whichever becomes controller has a warm view, and every leader knows which log servers answer.
 * A ping rides the same HTTP/2 connection as the node's other calls, so a connection that silently
 * stopped carrying packets shows up here within the dead timeout.
 */
export class Heartbeats {
  readonly detector: FailureDetector;
  private readonly reports = new Map<PlainNodeId, { readonly at: number; readonly replicas: readonly ReplicaReport[] }>();
  private readonly clients = new Map<PlainNodeId, ServiceClient<typeof NodeSvc>>();
  private readonly inFlight = new Set<PlainNodeId>();
  private timer: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;

  constructor(private readonly o: HeartbeatOptions) {
    this.intervalMs = o.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.detector = new FailureDetector(o.timeouts ?? DEFAULT_FAILURE_TIMEOUTS);
  }

  /** The NodeSvc answers of this node, for its RPC server. */
  service(): ServiceImpl<typeof NodeSvc> {
    return {
      ping: async () => ({
        node: toWireNodeId(this.o.me),
        replicas: this.o.localReplicas().map((r) => ({
          partitionId: r.partitionId,
          appliedLsn: BigInt(r.appliedLsn),
          logEpoch: BigInt(r.logEpoch),
          leader: r.leader,
        })),
      }),
    };
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.round(), this.intervalMs);
    this.timer.unref();
    this.round();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  health(now = Date.now()): NodeHealth[] {
    return this.detector.health(now);
  }

  /** This node counts itself alive; others by the detector (unknown nodes as dead). */
  isAlive(node: PlainNodeId, now = Date.now()): boolean {
    return node === this.o.me.id || this.detector.stateOf(node, now) === "alive";
  }

  /** The latest report of `node` about `partition`, if it answered with one. */
  replicaReport(node: PlainNodeId, partition: PartitionId): ReplicaReport | undefined {
    if (node === this.o.me.id) return this.o.localReplicas().find((r) => r.partitionId === partition);
    return this.reports.get(node)?.replicas.find((r) => r.partitionId === partition);
  }

  private round(): void {
    const now = Date.now();
    const peers = this.o.peers().filter((n) => n !== this.o.me.id);
    this.detector.track(peers, now);
    for (const node of peers) {
      // A ping still waiting (on a dead peer, up to its timeout) is not stacked with another.
      if (this.inFlight.has(node)) continue;
      this.inFlight.add(node);
      this.client(node)
        .ping({ from: toWireNodeId(this.o.me) }, { timeoutMs: this.intervalMs * 2 })
        .then((answer) => {
          const at = Date.now();
          this.detector.heard(node, at);
          this.reports.set(node, {
            at,
            replicas: answer.replicas.map((r) => ({
              partitionId: PartitionId(r.partitionId),
              appliedLsn: Lsn(Number(r.appliedLsn)),
              logEpoch: LeaderEpoch(Number(r.logEpoch)),
              leader: r.leader,
            })),
          });
        })
        .catch((e: unknown) => this.o.logger.trace({ node, err: String(e) }, "heartbeat unanswered"))
        .finally(() => this.inFlight.delete(node));
    }
  }

  private client(node: PlainNodeId): ServiceClient<typeof NodeSvc> {
    let client = this.clients.get(node);
    if (client === undefined) {
      client = createClient(NodeSvc, this.o.connections.channel(node));
      this.clients.set(node, client);
    }
    return client;
  }
}
