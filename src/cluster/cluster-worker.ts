import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../common/logger.ts";
import { BifrostImpl } from "../bifrost/bifrost-impl.ts";
import {
  InsufficientLogServersError,
  newReplicatedParams,
  parseReplicatedParams,
  type ReplicatedLogletParams,
} from "../net/loglet-params.ts";
import { ReplicatedLogletProvider } from "../bifrost/replicated/provider.ts";
import {
  documentCodec,
  METADATA_KEYS,
  NODES_CODEC,
  type PartitionPlacement,
  type PartitionTable,
  type ProviderKind,
} from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { readModifyWrite } from "../metadata/read-modify-write.ts";
import { PartitionRouter } from "../partition/routing.ts";
import { BadRequestError, ConflictError, errorMessage } from "../types/errors.ts";
import { formatNodeId, type GenerationalNodeId, type LogId, type PartitionId } from "../types/ids.ts";
import type { NodeConfig } from "./config.ts";
import { Node } from "./node.ts";
import { sameNode } from "../net/node-id.ts";
import { NodeDirectory } from "../net/node-directory.ts";

/** How long a worker waits at start for enough read-write log servers to place its logs on. */
const LOG_SERVER_WAIT_MS = 120_000;
const LOG_SERVER_POLL_MS = 200;
const LOG_SERVER_WARN_EVERY_MS = 5_000;
/** Pause before retrying a log reconfiguration that failed (e.g. no seal quorum reachable yet). */
const PLACEMENT_RETRY_MS = 1_000;

const PARTITIONS_CODEC = documentCodec<PartitionTable>();

/**
 * The worker role of a cluster node: the single-node engine (partitions, invoker, ingress, admin)
 * on the cluster's metadata, with a Bifrost whose logs are replicated over the cluster's log
 * servers and sequenced here. One worker runs every partition; a second worker is refused.
 */
export class ClusterWorker {
  private constructor(
    readonly node: Node,
    private readonly bifrost: BifrostImpl,
    private readonly directory: NodeDirectory,
    private readonly placement: LogPlacement,
  ) {}

  static async start(config: NodeConfig, me: GenerationalNodeId, metadata: MetadataStore, log: Logger): Promise<ClusterWorker> {
    const router = new PartitionRouter(config.partitions);
    await claimPartitions(metadata, router, me);
    const segments = new ReplicatedSegments(metadata, me, config.cluster.replication);
    await segments.awaitLogServers(log);

    const directory = await NodeDirectory.open(metadata, log);
    const bifrost = new BifrostImpl(metadata, [new ReplicatedLogletProvider({ me, connections: directory.connections, logger: log })], {
      newSegmentParams: (provider) => segments.paramsFor(provider),
      logger: log,
    });
    const placement = new LogPlacement(bifrost, segments, router.partitions.map((pid) => router.logOf(pid)), me, log);
    try {
      await placement.start(metadata);
      const node = await Node.startOn(config, { metadata, bifrost, nodeId: me.id, owned: false });
      return new ClusterWorker(node, bifrost, directory, placement);
    } catch (e) {
      const placing = placement.stop();
      await bifrost.close();
      await placing;
      directory.close();
      throw e;
    }
  }

  async stop(): Promise<void> {
    const placing = this.placement.stop();
    await this.node.stop();
    await this.bifrost.close();
    await placing;
    this.directory.close();
  }
}

/** Params of new replicated segments written by this node: every read-write log server, `replication` copies. */
class ReplicatedSegments {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly me: GenerationalNodeId,
    private readonly replication: number,
  ) {}

  async desired(): Promise<ReplicatedLogletParams> {
    const stored = await this.metadata.get(METADATA_KEYS.nodesConfiguration);
    const nodes = stored === null ? { clusterName: "", nodes: [] } : NODES_CODEC.decode(stored.value);
    return newReplicatedParams(nodes, this.me, this.replication);
  }

  async paramsFor(provider: ProviderKind): Promise<Readonly<Record<string, unknown>>> {
    if (provider !== "replicated") throw new BadRequestError(`a cluster worker creates replicated logs, not '${provider}' ones`, "unsupported_provider");
    return { ...(await this.desired()) };
  }

  /**
   * Waits until `replication` log servers are read-write: nodes of a cluster start in any order,
   * and a log placed on fewer servers could never take a write.
   */
  async awaitLogServers(log: Logger): Promise<void> {
    const deadline = Date.now() + LOG_SERVER_WAIT_MS;
    let warnAt = Date.now() + LOG_SERVER_WARN_EVERY_MS;
    for (;;) {
      try {
        await this.desired();
        return;
      } catch (e) {
        if (!(e instanceof InsufficientLogServersError) || Date.now() >= deadline) throw e;
        if (Date.now() >= warnAt) {
          warnAt = Date.now() + LOG_SERVER_WARN_EVERY_MS;
          log.warn({ replication: this.replication, reason: e.message }, "waiting for read-write log servers");
        }
      }
      await sleep(LOG_SERVER_POLL_MS);
    }
  }
}

/**
 * Keeps each log's tail segment sequenced here and spread over the current read-write log servers.
 * A replicated segment has exactly one sequencer and a fixed nodeset, so after a restart (new
 * generation), or when log servers join or leave read-write, the tail segment is sealed and a new
 * one continues the log. Runs once at start and again on every `NodesConfiguration` change; one
 * pass at a time, and a change during a pass schedules one more.
 */
class LogPlacement {
  private running: Promise<void> | null = null;
  private again = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private unwatch: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly bifrost: BifrostImpl,
    private readonly segments: ReplicatedSegments,
    private readonly logIds: readonly LogId[],
    private readonly me: GenerationalNodeId,
    private readonly log: Logger,
  ) {}

  /** Places every log once (errors propagate: the worker cannot start without its logs), then follows membership. */
  async start(metadata: MetadataStore): Promise<void> {
    for (const logId of this.logIds) await this.place(logId);
    this.unwatch = metadata.watch(METADATA_KEYS.nodesConfiguration, () => this.schedule());
    // A change between the first pass and the watch would otherwise wait for the next one.
    this.schedule();
  }

  /**
   * Stops following membership and returns the pass still running, if any. The caller closes
   * Bifrost before awaiting it: a seal waiting for a quorum ends only when its loglet closes.
   */
  stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    return this.running ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        for (const logId of this.logIds) {
          if (this.stopped) return;
          try {
            await this.place(logId);
          } catch (e) {
            if (this.stopped) return;
            // The processors keep writing to the current segment meanwhile; try again shortly.
            this.log.warn({ logId, err: errorMessage(e) }, "log reconfiguration failed; retrying");
            this.retryTimer ??= setTimeout(() => {
              this.retryTimer = null;
              this.schedule();
            }, PLACEMENT_RETRY_MS);
          }
        }
      } while (this.again && !this.stopped);
    })().finally(() => (this.running = null));
  }

  private async place(logId: LogId): Promise<void> {
    const chain = await this.bifrost.getChain(logId);
    const tail = chain.segments[chain.segments.length - 1];
    if (tail.provider !== "replicated") return;
    const current = parseReplicatedParams(tail.params);
    const mine = sameNode(current.sequencer, this.me);
    let desired: ReplicatedLogletParams;
    try {
      desired = await this.segments.desired();
    } catch (e) {
      // Too few writable servers for a new segment: keep writing to ours while it still takes writes.
      if (e instanceof InsufficientLogServersError && mine) return;
      throw e;
    }
    if (mine && current.replication === desired.replication && sameMembers(current.nodeset, desired.nodeset)) return;
    const next = await this.bifrost.sealAndExtend(logId, { provider: "replicated", params: { ...desired }, sealIndex: tail.index });
    this.log.info(
      { logId, segment: next.index, baseLsn: next.baseLsn, sequencer: formatNodeId(desired.sequencer), nodeset: desired.nodeset, replication: desired.replication },
      "log moved to a new segment",
    );
  }
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/**
 * Records this node as the leader of every partition in the `PartitionTable`. A table of another
 * partition count, or whose partitions another node leads, is refused: partitions do not move
 * between workers yet, and two writers would keep sealing each other's log segments.
 */
async function claimPartitions(metadata: MetadataStore, router: PartitionRouter, me: GenerationalNodeId): Promise<void> {
  await readModifyWrite(metadata, METADATA_KEYS.partitionTable, PARTITIONS_CODEC, (table) => {
    if (table !== null && table.partitions.length !== router.partitionCount) {
      throw new ConflictError(
        `the cluster has ${table.partitions.length} partitions; this worker is configured with ${router.partitionCount} (--partitions)`,
        "partition_count_mismatch",
      );
    }
    const other = table?.partitions.find((p) => p.leader !== undefined && p.leader !== me.id);
    if (other !== undefined) {
      throw new ConflictError(
        `partition ${other.partitionId} runs on worker N${other.leader}; one worker runs all partitions for now, so start this node with --roles log-server`,
        "partitions_taken",
      );
    }
    if (table !== null && table.partitions.every((p) => p.leader === me.id)) return "unchanged";
    const placement = (pid: PartitionId): PartitionPlacement => {
      const { from, to } = router.keyRange(pid);
      return { partitionId: pid, keyRange: { from: from.toString(), to: to.toString() }, logId: router.logOf(pid), leader: me.id, followers: [] };
    };
    return { partitions: router.partitions.map(placement) };
  });
}
