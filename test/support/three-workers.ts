import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before } from "node:test";
import { decodeDocument, METADATA_KEYS, type PartitionTable } from "../../src/metadata/documents.ts";
import { EtcdMetadataStore } from "../../src/metadata/etcd-store.ts";
import { startEtcd, type EtcdServer } from "./etcd.ts";
import { counter, greeter } from "./example-services.ts";
import { registerDeployment, tempDir } from "./reprise.ts";
import { startRepriseServer, type RepriseProcess } from "./reprise-server.ts";
import { startSdkEndpoint, type SdkEndpoint } from "./sdk-endpoint.ts";

export interface ThreeWorkers {
  /** By node name (n1, n2, n3), including nodes a test restarts with `startNode`. */
  readonly nodes: Map<string, RepriseProcess>;
  /** Starts (or restarts) a node with the suite's flags and `extra`. */
  startNode(name: string, extra?: string[]): Promise<RepriseProcess>;
  ingressOf(p: RepriseProcess): string;
  /** The partition table; empty until the controller placed the partitions. */
  table(): Promise<PartitionTable>;
}

/**
 * Three `reprise server` processes with every role (worker and log server) on a real etcd, the
 * Greeter and Counter services registered: started in a `before` and killed in an `after` of the
 * suite that calls this (its own hooks run after these).
 */
export function threeWorkers(o: { cluster: string; partitions: number; args: readonly string[] }): ThreeWorkers {
  const tmp = tempDir(`reprise-${o.cluster}-`);
  let etcd: EtcdServer | undefined;
  let metadata: EtcdMetadataStore | undefined;
  let sdk: SdkEndpoint | undefined;
  const nodes = new Map<string, RepriseProcess>();

  const startNode = async (name: string, extra: string[] = []): Promise<RepriseProcess> => {
    const proc = await startRepriseServer([
      ...["--metadata", `etcd://${new URL(etcd!.endpoint).host}`, "--cluster-name", o.cluster, "--node-name", name, "--roles", "worker,log-server"],
      ...["--base-dir", join(tmp.path, name), "--bind-address", "127.0.0.1", "--node-port", "0", "--ingress-port", "0", "--admin-port", "0"],
      ...["--partitions", String(o.partitions), ...o.args, ...extra],
    ]);
    nodes.set(name, proc);
    return proc;
  };

  before(async () => {
    etcd = await startEtcd();
    metadata = new EtcdMetadataStore({ endpoints: [etcd.endpoint] });
    sdk = await startSdkEndpoint([greeter, counter]);
    await Promise.all([startNode("n1"), startNode("n2", ["--join"]), startNode("n3", ["--join"])]);
    const registered = await registerDeployment(`http://127.0.0.1:${nodes.get("n1")!.ready.admin}`, sdk.url);
    assert.equal(registered.status, 201, await registered.clone().text());
  });

  after(async () => {
    await Promise.all([...nodes.values()].map((p) => p.kill9()));
    await sdk?.close();
    await metadata?.close();
    await etcd?.stop();
    tmp.remove();
  });

  return {
    nodes,
    startNode,
    ingressOf: (p) => `http://127.0.0.1:${p.ready.ingress}`,
    table: async () => {
      const stored = await metadata!.get(METADATA_KEYS.partitionTable);
      return stored === null ? { partitions: [] } : decodeDocument<PartitionTable>(stored.value);
    },
  };
}
