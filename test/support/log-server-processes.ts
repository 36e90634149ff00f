import { fileURLToPath } from "node:url";
import { metadataServiceImpl } from "../../src/net/metadata-service.ts";
import { MetadataService } from "../../src/net/gen/metadata_pb.ts";
import { RpcServer } from "../../src/net/server.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { startReadyChild, type TrackedChild } from "./process.ts";
import { readyNode } from "./reprise-server.ts";

export { spawnNodeChild as spawnTs, type TrackedChild as Child } from "./process.ts";

export const LOG_SERVER_MAIN = fileURLToPath(new URL("../../src/cluster/log-server-main.ts", import.meta.url));

/** The cluster's metadata, served from the test process to its child processes. */
export async function startMetadataService(): Promise<{ store: InMemoryMetadataStore; address: string; close: () => Promise<void> }> {
  const store = new InMemoryMetadataStore();
  const server = new RpcServer({ port: 0 }).register(MetadataService, metadataServiceImpl(store));
  const port = await server.listen();
  return { store, address: `127.0.0.1:${port}`, close: () => server.close() };
}

export interface LogServerProcess extends TrackedChild {
  readonly port: number;
  readonly generation: number;
}

/**
 * Starts log server `n<id>`. Names join in order, so on a fresh store start ids 1, 2, 3... one after
 * another; a restart keeps the id.
 */
export async function spawnLogServer(id: number, dataDir: string, metadataAddress: string, cluster: string): Promise<LogServerProcess> {
  const child = await startReadyChild(LOG_SERVER_MAIN, ["--node-name", `n${id}`, "--data-dir", dataDir, "--metadata", `rpc://${metadataAddress}`, "--cluster", cluster]);
  const node = readyNode(child.ready);
  if (node.id !== id) {
    await child.kill();
    throw new Error(`log server n${id} joined as N${node.id}: start log servers in id order on a fresh metadata store`);
  }
  return { ...child, port: child.ready.nodePort!, generation: node.generation };
}
