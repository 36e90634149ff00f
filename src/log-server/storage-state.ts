import { METADATA_KEYS, NODES_CODEC, type NodeConfig, type NodesConfiguration, type StorageState } from "../metadata/documents.ts";
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
  /** The storage (its marker's id) the new state describes, recorded beside it. */
  readonly storageId?: string;
}

/** The data directory a log server opened: its marker's id, and whether the marker was new. */
export interface LocalStorage {
  readonly id: string;
  readonly fresh: boolean;
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
export function transitionStorageState(
  store: MetadataStore,
  node: GenerationalNodeId,
  to: StorageState,
  options: TransitionOptions,
): Promise<StorageState> {
  return settle(store, node, options, `'${to}'`, (entry) => {
    const current = entry.logServer?.storageState ?? "provisioning";
    if (current === to || !options.from.includes(current)) return "unchanged";
    return { ...entry.logServer, storageState: to, ...(options.storageId !== undefined ? { storageId: options.storageId } : {}) };
  });
}

/**
 * What a log server's provisioning makes of the state recorded for it, given the storage it opened:
 * `provisioning` becomes `read-write` for this storage. A writable state recorded for this storage
 * is this storage's own earlier write (perhaps one whose answer was lost, however long ago), so it
 * stands; recorded for another storage it means the data the cluster expects here is gone:
 * `data-loss`. A document from before storage ids names none: a directory that existed before
 * this start is taken to be the one it describes, and its id is recorded. Other states are an
 * operator's and stay.
 */
export function provisioningChange(entry: NodeConfig, storage: LocalStorage): NodeConfig["logServer"] | "unchanged" {
  const current = entry.logServer?.storageState ?? "provisioning";
  if (current === "provisioning") return { storageState: "read-write", storageId: storage.id };
  if (current !== "read-write" && current !== "read-only") return "unchanged";
  const recorded = entry.logServer?.storageId;
  if (recorded === storage.id) return "unchanged";
  if (recorded === undefined && !storage.fresh) return { storageState: current, storageId: storage.id };
  return { storageState: "data-loss", storageId: storage.id };
}

/**
 * Provisions this node's storage (see `provisioningChange`) in one read-modify-CAS per attempt, so
 * the decision is always made on the state it replaces; returns the state it ended in.
 */
export function provisionStorage(store: MetadataStore, node: GenerationalNodeId, storage: LocalStorage, options: RetryOptions): Promise<StorageState> {
  return settle(store, node, options, "a provisioned state", (entry) => provisioningChange(entry, storage));
}

/** Applies `change` to this node's log-server entry until it sticks, retrying what is retryable. */
async function settle(
  store: MetadataStore,
  node: GenerationalNodeId,
  options: RetryOptions,
  wanted: string,
  change: (entry: NodeConfig) => NodeConfig["logServer"] | "unchanged",
): Promise<StorageState> {
  return retryTransition(
    async () => {
      const { value } = await readModifyWrite(store, METADATA_KEYS.nodesConfiguration, NODES_CODEC, (config) => {
        const entry = config?.nodes.find((n) => n.id === node.id);
        if (!config || !entry) throw new NodeNotRegisteredError(node);
        if (entry.generation > node.generation) throw FencedNodeError.superseded(node, entry.generation);
        const logServer = change(entry);
        if (logServer === "unchanged") return "unchanged";
        return { ...config, nodes: config.nodes.map((n) => (n.id === node.id ? { ...n, logServer } : n)) };
      });
      return storageStateOf(value, node)!;
    },
    { ...options, defaultAttempts: 50 },
    (attempts, cause) =>
      new UnavailableError(`storage state of ${formatNodeId(node)} did not reach ${wanted} after ${attempts} attempts`, "storage_state_unsettled", { cause }),
  );
}
