import { createHash } from "node:crypto";
import type { LogChain, Logs, NodeConfig, NodesConfiguration, PartitionTable, ProviderKind, Role, SegmentConfig } from "../../metadata/documents.ts";
import { formatNodeId, type LogId, type Version } from "../../types/ids.ts";
import { parseReplicatedParams } from "../loglet-params.ts";
import { stringifyExact, type ExactJson } from "./json-blob.ts";

// Reprise's metadata documents in the JSON shapes Restate gives the same documents (what
// `restatectl metadata get` prints for a Restate server), so restatectl decodes them as its own.

/** Restate's role order; the worker role brings the ingress and the admin API with it here. */
const RESTATE_ROLES = ["http-ingress", "admin", "worker", "log-server", "metadata-server"] as const;

export function restateRoles(roles: readonly Role[]): string[] {
  const held = new Set<string>(roles);
  if (held.has("worker")) {
    held.add("http-ingress");
    held.add("admin");
  }
  return RESTATE_ROLES.filter((r) => held.has(r));
}

/** Restate's text form of a replication property that only counts nodes. */
export function replicationText(copies: number): string {
  return `{node: ${copies}}`;
}

/** restatectl reaches a node at a URL; Reprise documents hold `host:port`. */
export function fabricUrl(address: string): string {
  return address.includes("://") ? address : `http://${address}/`;
}

/**
 * Restate identifies a cluster by a non-zero u64 fingerprint; Reprise has none, so it is derived
 * from the cluster name (two clusters of one name share it).
 */
export function clusterFingerprint(clusterName: string): bigint {
  const value = createHash("sha256").update(clusterName).digest().readBigUInt64BE(0);
  return value === 0n ? 1n : value;
}

export function restateNodesConfiguration(doc: NodesConfiguration, version: Version): ExactJson {
  return {
    version,
    cluster_name: doc.clusterName,
    cluster_fingerprint: clusterFingerprint(doc.clusterName),
    nodes: doc.nodes.map((n) => [n.id, { Node: restateNode(n) }]),
    name_lookup: Object.fromEntries(doc.nodes.map((n) => [n.name, n.id])),
    features: [],
  };
}

function restateNode(n: NodeConfig): ExactJson {
  return {
    name: n.name,
    current_generation: [n.id, n.generation],
    address: fabricUrl(n.address),
    roles: restateRoles(n.roles),
    // Restate's default for a node that is not a log server.
    log_server_config: { storage_state: n.logServer?.storageState ?? "provisioning" },
    location: "",
    metadata_server_config: { metadata_server_state: "standby" },
    worker_config: { worker_state: n.roles.includes("worker") ? "active" : "provisioning" },
  };
}

/** `replication` is the copies new replicated segments get (a node setting here, a Logs setting in Restate). */
export function restateLogs(doc: Logs, version: Version, replication: number): ExactJson {
  return {
    version,
    config: { default_provider: restateProvider(doc.defaultProvider, replication) },
    logs: doc.logs.map((chain) => [chain.logId, restateChain(chain)]),
    modified_at: null,
  };
}

function restateProvider(kind: ProviderKind, replication: number): ExactJson {
  if (kind === "local") return "local";
  return { replicated: { replication_property: replicationText(replication), target_nodeset_size: 0 } };
}

/**
 * A chain: its segments keyed by base LSN; every segment but the last is sealed. A segment sealed
 * before it got a record has the same base LSN as the next one; Restate's chain, a map by base
 * LSN, has no room for it (it holds nothing), so the later segment stands for that LSN.
 */
export function restateChain(chain: LogChain): ExactJson {
  const segments = chain.segments.filter((segment, i) => chain.segments[i + 1]?.baseLsn !== segment.baseLsn);
  return { chain: segments.map((segment) => [segment.baseLsn, restateSegment(chain.logId, segment)]) };
}

function restateSegment(logId: LogId, segment: SegmentConfig): ExactJson {
  return { kind: segment.provider, params: segmentParams(logId, segment), index: segment.index, created_at: null };
}

/** Restate numbers a log's loglets (log id in the high half, segment index in the low half) and shows it as `<log>_<segment>`. */
function logletId(logId: LogId, segment: SegmentConfig): bigint {
  return (BigInt(logId) << 32n) | BigInt(segment.index);
}

/** Restate's params text: a local loglet's is its id, a replicated one's is JSON naming sequencer, nodeset and replication. */
function segmentParams(logId: LogId, segment: SegmentConfig): string {
  const id = logletId(logId, segment);
  if (segment.provider === "local") return id.toString();
  const params = parseReplicatedParams(segment.params);
  return stringifyExact({
    loglet_id: id,
    sequencer: formatNodeId(params.sequencer),
    replication: { node: params.replication },
    nodeset: [...params.nodeset],
  });
}

export function restatePartitionTable(doc: PartitionTable, version: Version): ExactJson {
  return {
    version,
    num_partitions: doc.partitions.length,
    partitions: doc.partitions.map((p) => [
      p.partitionId,
      { key_range: { start: BigInt(p.keyRange.from), end: BigInt(p.keyRange.to) }, log_id: p.logId, cf_name: null, db_name: null },
    ]),
    replication: { limit: partitionReplicas(doc) },
  };
}

/** The most copies any partition runs with (leader and followers), as the table says today. */
export function partitionReplicas(doc: PartitionTable): number {
  return doc.partitions.reduce((most, p) => Math.max(most, (p.leader === undefined ? 0 : 1) + p.followers.length), 1);
}
