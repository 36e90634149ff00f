import type { LogId, PlainNodeId, Lsn, LeaderEpoch, PartitionId } from "../types/ids.ts";
import type { DocumentCodec } from "./read-modify-write.ts";

/** Keys of the typed documents in the metadata store. */
export const METADATA_KEYS = {
  nodesConfiguration: "nodes_config",
  logs: "bifrost_config",
  partitionTable: "partition_table",
  schema: "schema_registry",
} as const;

export type Role = "admin" | "worker" | "log-server" | "metadata-server" | "http-ingress";

/** Log-server storage state, as Restate models it; only ReadWrite log servers get new segments. */
export type StorageState = "provisioning" | "read-write" | "read-only" | "data-loss" | "disabled";

export interface NodeConfig {
  readonly id: PlainNodeId;
  readonly generation: number;
  readonly name: string;
  readonly address: string;
  readonly roles: readonly Role[];
  readonly logServer?: LogServerConfig;
}

export interface LogServerConfig {
  readonly storageState: StorageState;
  /**
   * The storage the state describes: the id in the log server's data-directory marker, written
   * with the state, so a retry by the same storage recognises its own write and a wiped directory
   * (a new id) does not pass for the old one. Absent in documents written before it existed.
   */
  readonly storageId?: string;
}

export interface NodesConfiguration {
  readonly clusterName: string;
  readonly nodes: readonly NodeConfig[];
}

export type ProviderKind = "local" | "replicated";

/** One segment of a log's chain: records with LSN >= baseLsn live in this loglet. */
export interface SegmentConfig {
  readonly index: number;
  readonly baseLsn: Lsn;
  readonly provider: ProviderKind;
  /** Provider-specific parameters (JSON-serialisable), e.g. nodeset and replication for replicated. */
  readonly params: Readonly<Record<string, unknown>>;
}

export interface LogChain {
  readonly logId: LogId;
  readonly segments: readonly SegmentConfig[];
}

export interface Logs {
  readonly defaultProvider: ProviderKind;
  readonly logs: readonly LogChain[];
}

export interface PartitionPlacement {
  readonly partitionId: PartitionId;
  /** Inclusive partition-key range as decimal strings (u64 does not fit a JSON number). */
  readonly keyRange: { readonly from: string; readonly to: string };
  readonly logId: LogId;
  readonly leader?: PlainNodeId;
  readonly followers: readonly PlainNodeId[];
  readonly leaderEpoch?: LeaderEpoch;
}

export interface PartitionTable {
  readonly partitions: readonly PartitionPlacement[];
}

/** Documents are stored as UTF-8 JSON: readable with `etcdctl get` and stable across versions. */
export function encodeDocument<T>(doc: T): Uint8Array {
  return Buffer.from(JSON.stringify(doc), "utf8");
}

export function decodeDocument<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes).toString("utf8")) as T;
}

/** The codec `readModifyWrite` takes for a document of type T. */
export function documentCodec<T>(): DocumentCodec<T> {
  return { encode: encodeDocument<T>, decode: decodeDocument<T> };
}

export const NODES_CODEC: DocumentCodec<NodesConfiguration> = documentCodec<NodesConfiguration>();
