/**
 * Replicated loglet append benchmark: three log-server processes on loopback, replication 2,
 * 1 KiB records, closed-loop appenders at several concurrency levels. The sequencer runs in this
 * process; every append is acknowledged only after two log servers fsync'd it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newReplicatedParams } from "../src/net/loglet-params.ts";
import { ReplicatedLogletProvider } from "../src/bifrost/replicated/provider.ts";
import { rootLogger } from "../src/common/logger.ts";
import { NodeDirectory } from "../src/net/node-directory.ts";
import { decodeDocument, METADATA_KEYS, type NodesConfiguration, type SegmentConfig } from "../src/metadata/documents.ts";
import { LogId, Lsn, PlainNodeId } from "../src/types/ids.ts";
import { eventually, writeReplicatedLog } from "../test/log-server/helpers.ts";
import { spawnLogServer, startMetadataService, type Child } from "../test/support/log-server-processes.ts";
import { closedLoopAppends, formatAppendBench, type AppendBenchResult } from "./append-loop.ts";

const CLUSTER = "bench";
const SEQUENCER = { id: PlainNodeId(50), generation: 1 };

/** Each level runs until `durationMs` or `maxAppends`; log servers are started once and stopped (by pid) at the end. */
export async function runReplicatedLogletBench(
  opts: { concurrencies?: readonly number[]; durationMs?: number; maxAppends?: number; recordBytes?: number } = {},
): Promise<AppendBenchResult[]> {
  const concurrencies = opts.concurrencies ?? [1, 32, 256];
  const durationMs = opts.durationMs ?? 2_500;
  const maxAppends = opts.maxAppends ?? 200_000;
  const payload = Buffer.alloc(opts.recordBytes ?? 1024, 0x5a);
  const dir = mkdtempSync(join(tmpdir(), "reprise-bench-replicated-"));
  const meta = await startMetadataService();
  const servers: Child[] = [];
  let directory: NodeDirectory | null = null;
  let provider: ReplicatedLogletProvider | null = null;
  try {
    for (const id of [1, 2, 3]) servers.push(await spawnLogServer(id, join(dir, `n${id}`), meta.address, CLUSTER));
    const config = async (): Promise<NodesConfiguration> => decodeDocument((await meta.store.get(METADATA_KEYS.nodesConfiguration))!.value);
    await eventually(async () => (await config()).nodes.every((n) => n.logServer?.storageState === "read-write"), 10_000, "log servers read-write");
    directory = await NodeDirectory.open(meta.store, rootLogger);
    provider = new ReplicatedLogletProvider({ me: SEQUENCER, connections: directory.connections, maxInflight: 1024 });

    const results: AppendBenchResult[] = [];
    for (const [level, concurrency] of concurrencies.entries()) {
      const params = newReplicatedParams(await config(), SEQUENCER, 2);
      await writeReplicatedLog(meta.store, level + 1, params);
      const segment: SegmentConfig = { index: 0, baseLsn: Lsn(1), provider: "replicated", params: { ...params } };
      const loglet = await provider.getLoglet(LogId(level + 1), segment);
      await loglet.append([payload]); // the first append checks the loglet is fresh on the servers
      results.push(await closedLoopAppends("replicated loglet 3x r=2 1 KiB", loglet, payload, { concurrency, durationMs, maxAppends }));
    }
    return results;
  } finally {
    await provider?.close();
    directory?.close();
    for (const s of servers) await s.kill("SIGTERM");
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await runReplicatedLogletBench()) console.log(formatAppendBench(r));
}
