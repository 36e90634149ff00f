import assert from "node:assert/strict";
import { join } from "node:path";
import { after } from "node:test";
import { ReplicatedLogletProvider } from "../../src/bifrost/replicated/provider.ts";
import { rootLogger } from "../../src/common/logger.ts";
import { LogServer } from "../../src/log-server/log-server.ts";
import { decodeDocument, METADATA_KEYS, type NodesConfiguration, type SegmentConfig } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { newReplicatedParams } from "../../src/net/loglet-params.ts";
import { NodeDirectory } from "../../src/net/node-directory.ts";
import { LogId, Lsn } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { CLUSTER, node, writeNodes, writeReplicatedLog } from "../log-server/helpers.ts";
import { logletConformance } from "./loglet-conformance.ts";

const SERVERS = [1, 2, 3];
const REPLICATION = 2;
const WRITER = node(10);
const PEER = node(11);

const tmp = tempDir("reprise-replicated-conformance-");
after(() => tmp.remove());

// Three in-process log servers; each loglet is a new log with one segment, replication 2 of 3.
logletConformance(`replicated (${SERVERS.length} log servers, replication ${REPLICATION})`, async () => {
  const metadata = new InMemoryMetadataStore();
  await writeNodes(metadata, SERVERS.map((id) => ({ id })));
  const servers: LogServer[] = [];
  for (const id of SERVERS) {
    const server = await LogServer.start({ me: node(id), clusterName: CLUSTER, dataDir: join(tmp.path, `n${id}`), metadata, port: 0 });
    servers.push(server);
    assert.equal(await server.ready(), "read-write");
  }
  const readConfig = async (): Promise<NodesConfiguration> => decodeDocument((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value);
  const provisioned = await readConfig();
  await writeNodes(
    metadata,
    provisioned.nodes.map((n) => ({ id: n.id, address: `127.0.0.1:${servers[SERVERS.indexOf(n.id)].port}`, storageState: n.logServer?.storageState })),
  );

  const directory = await NodeDirectory.open(metadata, rootLogger);
  const providerFor = (me: typeof WRITER): ReplicatedLogletProvider =>
    new ReplicatedLogletProvider({ me, connections: directory.connections, timeouts: { rpcMs: 1_000 }, sealDrainMs: 500 });
  const writers = providerFor(WRITER);
  const peers = providerFor(PEER);
  let logs = 0;

  return {
    create: async () => {
      const logId = ++logs;
      const params = newReplicatedParams(await readConfig(), WRITER, REPLICATION);
      await writeReplicatedLog(metadata, logId, params);
      const segment: SegmentConfig = { index: 0, baseLsn: Lsn(1), provider: "replicated", params: { ...params } };
      return {
        writer: await writers.getLoglet(LogId(logId), segment),
        peer: await peers.getLoglet(LogId(logId), segment),
        syncs: () => servers.map((s) => s.syncedCommits),
        syncQuorum: REPLICATION,
      };
    },
    close: async () => {
      await writers.close();
      await peers.close();
      directory.close();
      for (const s of servers) await s.close();
    },
  };
});
