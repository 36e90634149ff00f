import { decodeDocument, METADATA_KEYS, type Logs, type NodeConfig, type NodesConfiguration, type PartitionTable } from "../../metadata/documents.ts";
import type { MetadataStore } from "../../metadata/metadata-store.ts";
import { Version, type PartitionId, type LogId } from "../../types/ids.ts";

export interface Versioned<T> {
  readonly version: Version;
  readonly doc: T;
}

/** The metadata documents restatectl reads, as this node answers them; null when there is none yet. */
export interface ClusterDocuments {
  nodes(): Promise<Versioned<NodesConfiguration> | null>;
  partitionTable(): Promise<Versioned<PartitionTable> | null>;
  logs(): Promise<Versioned<Logs> | null>;
}

async function stored<T>(metadata: MetadataStore, key: string): Promise<Versioned<T> | null> {
  const value = await metadata.get(key);
  return value === null ? null : { version: value.version, doc: decodeDocument<T>(value.value) };
}

/** A cluster node: every document is the shared metadata store's. */
export function storedDocuments(metadata: MetadataStore): ClusterDocuments {
  return {
    nodes: () => stored<NodesConfiguration>(metadata, METADATA_KEYS.nodesConfiguration),
    partitionTable: () => stored<PartitionTable>(metadata, METADATA_KEYS.partitionTable),
    logs: () => stored<Logs>(metadata, METADATA_KEYS.logs),
  };
}

/** A single node's own layout: itself, and its partitions with their key ranges and logs. */
export interface SingleNodeLayout {
  readonly clusterName: string;
  readonly node: NodeConfig;
  readonly partitions: readonly PartitionId[];
  keyRange(partition: PartitionId): { from: bigint; to: bigint };
  logOf(partition: PartitionId): LogId;
}

const SINGLE_NODE_VERSION = Version(1);

/**
 * A single node never joins a cluster, so it stores no nodes configuration or partition table;
 * it answers them from its own layout, at version 1 (they cannot change while it runs). The logs
 * document is the one its Bifrost keeps in the embedded store.
 */
export function singleNodeDocuments(metadata: MetadataStore, layout: SingleNodeLayout): ClusterDocuments {
  const nodes: NodesConfiguration = { clusterName: layout.clusterName, nodes: [layout.node] };
  const partitionTable: PartitionTable = {
    partitions: layout.partitions.map((partitionId) => {
      const { from, to } = layout.keyRange(partitionId);
      return { partitionId, keyRange: { from: from.toString(), to: to.toString() }, logId: layout.logOf(partitionId), leader: layout.node.id, followers: [] };
    }),
  };
  return {
    nodes: () => Promise.resolve({ version: SINGLE_NODE_VERSION, doc: nodes }),
    partitionTable: () => Promise.resolve({ version: SINGLE_NODE_VERSION, doc: partitionTable }),
    logs: () => stored<Logs>(metadata, METADATA_KEYS.logs),
  };
}
