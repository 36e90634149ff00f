import { METADATA_KEYS, NODES_CODEC, type NodesConfiguration, type StorageState } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { readModifyWrite, retryTransition, type RetryOptions } from "../metadata/read-modify-write.ts";
import { UnavailableError } from "../types/errors.ts";
import { formatNodeId, type GenerationalNodeId } from "../types/ids.ts";
import { FencedNodeError } from "../net/log-server-errors.ts";

/** The node is not (yet) in `NodesConfiguration`; it appears once the node has joined. */
export class NodeNotRegisteredError extends UnavailableError {
  constructor(node: GenerationalNodeId) {
    super(`node ${formatNodeId(node)} is not in the nodes configuration`, "node_not_registered");
  }
}

export interface TransitionOptions extends RetryOptions {
  /** States the transition may start from; any other state found is returned as is. */
  readonly from: readonly StorageState[];
}

export function storageStateOf(config: NodesConfiguration, node: GenerationalNodeId): StorageState | null {
  const entry = config.nodes.find((n) => n.id === node.id);
  return entry ? (entry.logServer?.storageState ?? "provisioning") : null;
}

/**
 * Moves this node's log-server storage state to `to` with a read-modify-CAS on `NodesConfiguration`
 * and returns the state it ended in. Every outcome of an earlier attempt converges: the write being
 * applied but its answer lost, a concurrent attempt winning the race, the store's leader changing.
 * Each retry re-reads the document and treats "already `to`" as success. If the state is neither
 * `to` nor one of `from` (an operator set it), it is returned unchanged rather than overwritten.
 */
export async function transitionStorageState(
  store: MetadataStore,
  node: GenerationalNodeId,
  to: StorageState,
  options: TransitionOptions,
): Promise<StorageState> {
  return retryTransition(
    async () => {
      const { value } = await readModifyWrite(store, METADATA_KEYS.nodesConfiguration, NODES_CODEC, (config) => {
        const entry = config?.nodes.find((n) => n.id === node.id);
        if (!config || !entry) throw new NodeNotRegisteredError(node);
        if (entry.generation > node.generation) throw FencedNodeError.superseded(node, entry.generation);
        const current = entry.logServer?.storageState ?? "provisioning";
        if (current === to || !options.from.includes(current)) return "unchanged";
        return { ...config, nodes: config.nodes.map((n) => (n.id === node.id ? { ...n, logServer: { ...n.logServer, storageState: to } } : n)) };
      });
      return storageStateOf(value, node)!;
    },
    { ...options, defaultAttempts: 50 },
    (attempts, cause) =>
      new UnavailableError(`storage state of ${formatNodeId(node)} did not reach '${to}' after ${attempts} attempts`, "storage_state_unsettled", { cause }),
  );
}
