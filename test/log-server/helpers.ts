import { RpcChannel } from "../../src/net/client.ts";
import { logServerClient as typedLogServerClient, type LogServerClient } from "../../src/bifrost/replicated/log-server-client.ts";
import { toWireNodeId } from "../../src/net/node-id.ts";
import { replicatedLogletId, type ReplicatedLogletParams } from "../../src/net/loglet-params.ts";
import { decodeDocument, encodeDocument, METADATA_KEYS, type Logs, type NodeConfig, type NodesConfiguration, type StorageState } from "../../src/metadata/documents.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { LogId, Lsn, PlainNodeId, type GenerationalNodeId } from "../../src/types/ids.ts";

export { eventually } from "../support/eventually.ts";

export const CLUSTER = "test-cluster";
export const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");
export const dec = (b: Uint8Array): string => Buffer.from(b).toString("utf8");
export const node = (id: number, generation = 1): GenerationalNodeId => ({ id: PlainNodeId(id), generation });

export interface TestNode {
  readonly id: number;
  readonly generation?: number;
  readonly address?: string;
  readonly storageState?: StorageState;
}

/** Writes a NodesConfiguration with the given log-server nodes (overwriting any). */
export async function writeNodes(store: MetadataStore, nodes: readonly TestNode[]): Promise<void> {
  const doc: NodesConfiguration = {
    clusterName: CLUSTER,
    nodes: nodes.map(
      (n): NodeConfig => ({
        id: PlainNodeId(n.id),
        generation: n.generation ?? 1,
        name: `n${n.id}`,
        address: n.address ?? "127.0.0.1:1",
        roles: ["log-server"],
        logServer: { storageState: n.storageState ?? "provisioning" },
      }),
    ),
  };
  await store.put(METADATA_KEYS.nodesConfiguration, encodeDocument(doc), { kind: "none" });
}

/** Adds (or replaces) log `logId` with one replicated segment with `params`; returns the loglet id. */
export async function writeReplicatedLog(store: MetadataStore, logId: number, params: ReplicatedLogletParams): Promise<string> {
  const stored = await store.get(METADATA_KEYS.logs);
  const current: Logs = stored ? decodeDocument<Logs>(stored.value) : { defaultProvider: "replicated", logs: [] };
  const chain = { logId: LogId(logId), segments: [{ index: 0, baseLsn: Lsn(1), provider: "replicated" as const, params: { ...params } }] };
  const doc: Logs = { ...current, logs: [...current.logs.filter((c) => c.logId !== logId), chain] };
  await store.put(METADATA_KEYS.logs, encodeDocument(doc), stored ? { kind: "matches", version: stored.version } : { kind: "does-not-exist" });
  return replicatedLogletId(LogId(logId), 0);
}

export type { LogServerClient };

/** A client for one log server, its own channel; callers pick the sender per request (`header`). */
export function logServerClient(port: number): { client: LogServerClient; close: () => void } {
  const channel = new RpcChannel(() => `127.0.0.1:${port}`);
  return { client: typedLogServerClient(channel), close: () => channel.close() };
}

export function header(as: GenerationalNodeId, logletId: string, knownGlobalTail = 0) {
  return { sender: toWireNodeId(as), logletId, knownGlobalTail };
}
