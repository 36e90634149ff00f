import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../common/logger.ts";
import { METADATA_KEYS, NODES_CODEC, type NodesConfiguration, type ProviderKind } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { InsufficientLogServersError, newReplicatedParams, type ReplicatedLogletParams } from "../net/loglet-params.ts";
import { BadRequestError } from "../types/errors.ts";
import type { GenerationalNodeId, PlainNodeId } from "../types/ids.ts";

/** How long a worker waits at start for enough read-write log servers to place its logs on. */
const LOG_SERVER_WAIT_MS = 120_000;
const LOG_SERVER_POLL_MS = 200;
const LOG_SERVER_WARN_EVERY_MS = 5_000;

/**
 * Params of new replicated segments sequenced by this node: every read-write log server that is
 * not `unusable` (per the failure detector), `replication` copies of each record.
 */
export class ReplicatedSegments {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly me: GenerationalNodeId,
    private readonly replication: number,
    private readonly unusable: (node: PlainNodeId) => boolean = () => false,
  ) {}

  async desired(): Promise<ReplicatedLogletParams> {
    return newReplicatedParams(await this.nodes(), this.me, this.replication, (n) => n !== this.me.id && this.unusable(n));
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
        // Liveness is not known yet at start: count the read-write servers only.
        newReplicatedParams(await this.nodes(), this.me, this.replication);
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

  private async nodes(): Promise<NodesConfiguration> {
    const stored = await this.metadata.get(METADATA_KEYS.nodesConfiguration);
    return stored === null ? { clusterName: "", nodes: [] } : NODES_CODEC.decode(stored.value);
  }
}
