import type { ClusterStatusSource } from "../admin/cluster-status.ts";
import type { Logger } from "../common/logger.ts";
import { BifrostImpl } from "../bifrost/bifrost-impl.ts";
import { ReplicatedLogletProvider } from "../bifrost/replicated/provider.ts";
import { METADATA_KEYS } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { IngressResultSvc, PartitionReadSvc, PartitionSvc } from "../net/gen/cluster_pb.ts";
import { Sequencer as SequencerService } from "../net/gen/log_server_pb.ts";
import type { NodeDirectory } from "../net/node-directory.ts";
import type { RpcServer } from "../net/server.ts";
import type { RemoteLeaders } from "../partition/dispatcher.ts";
import { ConflictError } from "../types/errors.ts";
import type { GenerationalNodeId, PartitionId, PlainNodeId } from "../types/ids.ts";
import type { NodeConfig } from "./config.ts";
import type { Heartbeats, ReplicaReport } from "./heartbeats.ts";
import { Node } from "./node.ts";
import { PartitionReads } from "./partition-reads.ts";
import { PartitionReplicas } from "./partition-replicas.ts";
import { PARTITION_TABLE_CODEC } from "./placement.ts";
import { ReplicatedSegments } from "./replicated-segments.ts";
import { ResultRelay } from "./result-relay.ts";

/** How often a leader checks whether the live set of log servers changed under its log tails. */
const LIVENESS_CHECK_MS = 1_000;

export interface ClusterWorkerDeps {
  /** The node's RPC server (node port), where the worker answers forwarded commands. */
  readonly rpc: RpcServer;
  readonly directory: NodeDirectory;
  readonly heartbeats: Heartbeats;
  /** What the worker's admin API reports as the cluster's status (`GET /cluster/status`). */
  readonly clusterStatus: ClusterStatusSource;
  /** The cluster's workers as of now, this one among them. */
  readonly workers: () => readonly PlainNodeId[];
}

/**
 * The worker role of a cluster node: the engine (partitions, invoker, ingress, admin) on the
 * cluster's metadata, with a Bifrost whose logs are replicated over the cluster's log servers.
 * Which partitions have a replica here, and which of them lead, is the partition table's call
 * (the cluster controller writes it; `PartitionReplicas` carries it out). Ingress and admin work
 * on every worker: commands for partitions led elsewhere are forwarded to their leaders; a worker
 * without a replica of a partition reads its invocations from another node's replica and gets its
 * results from the leader (`ResultRelay`).
 */
export class ClusterWorker {
  private stopping = false;

  private constructor(
    readonly node: Node,
    private readonly bifrost: BifrostImpl,
    private readonly replicas: PartitionReplicas,
    private readonly relay: ResultRelay,
    private readonly stopWatching: () => void,
  ) {}

  static async start(config: NodeConfig, me: GenerationalNodeId, metadata: MetadataStore, log: Logger, deps: ClusterWorkerDeps): Promise<ClusterWorker> {
    await checkPartitionCount(metadata, config.partitions);
    // New segments go to log servers known to be up: not dead, and heard from since this process
    // started (a restarted worker must not place a fresh segment on a server that died meanwhile).
    const detector = deps.heartbeats.detector;
    const unusable = (n: PlainNodeId) => !detector.hasAnswered(n) || detector.stateOf(n, Date.now()) === "dead";
    const segments = new ReplicatedSegments(metadata, me, config.cluster.replication, unusable);
    await segments.awaitLogServers(log);

    const replicated = new ReplicatedLogletProvider({ me, connections: deps.directory.connections, logger: log });
    deps.rpc.register(SequencerService, replicated.sequencerService());
    const bifrost = new BifrostImpl(metadata, [replicated], {
      newSegmentParams: (provider) => segments.paramsFor(provider),
      logger: log,
    });
    // The dispatcher needs the placement, the placement the node: resolved once both exist.
    let replicas: PartitionReplicas | null = null;
    const connections = deps.directory.connections;
    const reads = new PartitionReads(connections);
    const relay = new ResultRelay({
      recipients: (p) => {
        const withReplica = new Set(replicas?.replicasOf(p) ?? []);
        return deps.workers().filter((w) => w !== me.id && !withReplica.has(w));
      },
      connections,
      logger: log,
    });
    const remote: RemoteLeaders = {
      leaderOf: (p) => replicas?.leaderOf(p),
      replicasOf: (p) => replicas?.replicasOf(p) ?? [],
      propose: (node, p, command, timeoutMs) => replicas!.propose(node, p, command, timeoutMs),
      read: (node, id, withJournal, timeoutMs) => reads.read(node, id, withJournal, timeoutMs),
      relayResult: (p, applied) => relay.relay(p, applied),
    };
    const queryRows = (node: number, query: string, partitions: readonly PartitionId[], timeoutMs: number) => reads.loadQueryRows(node, query, partitions, timeoutMs);
    let node: Node | null = null;
    try {
      node = await Node.startOn(config, { metadata, bifrost, nodeId: me.id, owned: false, cluster: { remote, queryRows }, clusterStatus: deps.clusterStatus });
      const dispatcher = node.dispatcher;
      replicas = new PartitionReplicas({ me, node, bifrost, metadata, connections, segments, logger: log });
      deps.rpc.register(PartitionSvc, replicas.service());
      deps.rpc.register(PartitionReadSvc, PartitionReads.service(dispatcher, (query, partitions, timeoutMs) => node!.loadQueryRows(query, partitions, timeoutMs)));
      deps.rpc.register(IngressResultSvc, ResultRelay.service((applied) => dispatcher.completeResult(applied)));
      await replicas.start();
    } catch (e) {
      relay.stop();
      await replicas?.stop();
      await node?.stop();
      await bifrost.close();
      throw e;
    }
    const stopWatching = watchLogServers(metadata, replicas, deps.heartbeats, unusable);
    return new ClusterWorker(node, bifrost, replicas, relay, stopWatching);
  }

  /** What this node's replicas report in heartbeats. */
  reports(): ReplicaReport[] {
    // Pings keep arriving while the worker stops, and its stores close early in that.
    return this.stopping ? [] : this.replicas.reports();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopWatching();
    await this.node.stop();
    this.relay.stop();
    // Closing Bifrost ends a seal still waiting for a quorum, so the replicas' transitions finish.
    await this.bifrost.close();
    await this.replicas.stop();
  }
}

/**
 * Re-places the tails of the logs this node leads when log servers join or leave read-write, and
 * when the set of servers that new segments leave out (`unusable`, as placement judges it) changes:
 * a dead server is left out of new segments; a returning one, or one heard from for the first time
 * since this process started, is taken back in.
 */
function watchLogServers(metadata: MetadataStore, replicas: PartitionReplicas, heartbeats: Heartbeats, unusable: (n: PlainNodeId) => boolean): () => void {
  const unwatch = metadata.watch(METADATA_KEYS.nodesConfiguration, () => replicas.replaceLedTails());
  let leftOut = "";
  const timer = setInterval(() => {
    const now = heartbeats
      .health()
      .map((h) => h.node)
      .filter(unusable)
      .sort((a, b) => a - b)
      .join(",");
    if (now === leftOut) return;
    leftOut = now;
    replicas.replaceLedTails();
  }, LIVENESS_CHECK_MS);
  timer.unref();
  return () => {
    unwatch();
    clearInterval(timer);
  };
}

/** A worker configured with another partition count than the cluster's would route keys wrongly. */
async function checkPartitionCount(metadata: MetadataStore, partitions: number): Promise<void> {
  const stored = await metadata.get(METADATA_KEYS.partitionTable);
  if (stored === null) return;
  const table = PARTITION_TABLE_CODEC.decode(stored.value);
  if (table.partitions.length !== partitions) {
    throw new ConflictError(
      `the cluster has ${table.partitions.length} partitions; this worker is configured with ${partitions} (--partitions)`,
      "partition_count_mismatch",
    );
  }
}
