import { FencedNodeError } from "../net/log-server-errors.ts";
import { METADATA_KEYS, NODES_CODEC, type NodeConfig, type NodesConfiguration, type Role } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { readModifyWrite, retryTransition, type RetryOptions } from "../metadata/read-modify-write.ts";
import { BadRequestError, errorMessage, UnavailableError } from "../types/errors.ts";
import { PlainNodeId, type GenerationalNodeId } from "../types/ids.ts";

export interface JoinRequest {
  readonly clusterName: string;
  /** Stable across restarts: the name, not the id, is what a node knows about itself. */
  readonly name: string;
  /** `host:port` other nodes reach this node's transport on. */
  readonly address: string;
  readonly roles: readonly Role[];
}

/** `maxAttempts` counts retryable errors (store unreachable, answer lost); concurrent changes retry inside each attempt. */
export type JoinOptions = RetryOptions;

/**
 * Registers this process in `NodesConfiguration` and returns the identity it runs with. A new name
 * gets the next node id (one above the highest ever listed, so an id is never handed to a second
 * node while old segments may still name it) with generation 1; a known name keeps its id and gets
 * generation + 1, which fences the previous process of that node. The first join creates the
 * document for `clusterName`; a document of another cluster is refused.
 *
 * Retrying is safe: if an earlier attempt was applied but its answer lost, the retry sees the name
 * and takes one more generation; the generation skipped is fenced like any older one.
 */
export async function joinCluster(store: MetadataStore, request: JoinRequest, options: JoinOptions = {}): Promise<GenerationalNodeId> {
  return retryTransition(
    async () => {
      const { value } = await readModifyWrite(store, METADATA_KEYS.nodesConfiguration, NODES_CODEC, (current) => withJoined(current, request));
      const me = value.nodes.find((n) => n.name === request.name)!;
      return { id: me.id, generation: me.generation };
    },
    { ...options, defaultAttempts: 20 },
    (attempts, cause) =>
      new UnavailableError(
        `node '${request.name}' could not join cluster '${request.clusterName}' after ${attempts} attempts: ${errorMessage(cause)}; ` +
          "check that the metadata store (--metadata) is running and reachable from this node",
        "join_unsettled",
        { cause },
      ),
  );
}

function withJoined(current: NodesConfiguration | null, request: JoinRequest): NodesConfiguration {
  const config = current ?? { clusterName: request.clusterName, nodes: [] };
  if (config.clusterName !== request.clusterName) {
    throw new BadRequestError(
      `metadata belongs to cluster '${config.clusterName}', not '${request.clusterName}': start this node with --cluster-name ${config.clusterName}, or point --metadata at cluster '${request.clusterName}''s store`,
      "cluster_mismatch",
    );
  }
  const existing = config.nodes.find((n) => n.name === request.name);
  const id = existing?.id ?? PlainNodeId(config.nodes.reduce((max, n) => Math.max(max, n.id), 0) + 1);
  const logServer = existing?.logServer ?? (request.roles.includes("log-server") ? { storageState: "provisioning" as const } : undefined);
  const me: NodeConfig = {
    id,
    generation: (existing?.generation ?? 0) + 1,
    name: request.name,
    address: request.address,
    roles: [...request.roles],
    ...(logServer ? { logServer } : {}),
  };
  return { ...config, nodes: existing ? config.nodes.map((n) => (n.id === id ? me : n)) : [...config.nodes, me] };
}

/** True when `NodesConfiguration` lists a newer generation of `node`'s id: that process replaced it. */
export function isFenced(config: NodesConfiguration, node: GenerationalNodeId): boolean {
  return newerGeneration(config, node) !== null;
}

/** Refuses a caller running with a superseded generation (`FencedNodeError`, code `node_fenced`, not retryable). */
export function checkNotFenced(config: NodesConfiguration, node: GenerationalNodeId): void {
  const newer = newerGeneration(config, node);
  if (newer !== null) throw FencedNodeError.superseded(node, newer);
}

function newerGeneration(config: NodesConfiguration, node: GenerationalNodeId): number | null {
  const entry = config.nodes.find((n) => n.id === node.id);
  return entry !== undefined && entry.generation > node.generation ? entry.generation : null;
}

export { FencedNodeError };
