import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { startEtcd, type EtcdServer } from "../support/etcd.ts";
import { counter } from "../support/example-services.ts";
import { eventually } from "../support/eventually.ts";
import { callJson, registerDeployment, tempDir } from "../support/reprise.ts";
import { startRepriseServer, type RepriseProcess } from "../support/reprise-server.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";

const PARTITIONS = 2;
const TRIM_INTERVAL_MS = 200;

interface PartitionStatus {
  partition_id: number;
  leader: boolean;
  applied_lsn: number;
  archived_lsn: number | null;
  trim_point: number | null;
}

/**
 * Three `reprise server` processes (worker and log server each) on etcd, with no snapshot
 * repository: however often the trim task runs, no log loses a record, and every node says why.
 */
describe("cluster without a snapshot repository: logs are never trimmed", { timeout: 120_000 }, () => {
  const tmp = tempDir("reprise-no-repo-");
  let etcd: EtcdServer;
  let sdk: SdkEndpoint;
  const nodes: RepriseProcess[] = [];

  const startNode = (name: string, extra: string[] = []): Promise<RepriseProcess> =>
    startRepriseServer([
      ...["--metadata", `etcd://${new URL(etcd.endpoint).host}`, "--cluster-name", "no-repo", "--node-name", name, "--roles", "worker,log-server"],
      ...["--base-dir", join(tmp.path, name), "--bind-address", "127.0.0.1", "--node-port", "0", "--ingress-port", "0", "--admin-port", "0"],
      ...["--partitions", String(PARTITIONS), "--replication", "2", "--log-trim-interval-ms", String(TRIM_INTERVAL_MS), ...extra],
    ]);
  const admin = (p: RepriseProcess) => `http://127.0.0.1:${p.ready.admin}`;
  const status = async (p: RepriseProcess): Promise<PartitionStatus[]> => ((await (await fetch(`${admin(p)}/snapshots`)).json()) as { partitions: PartitionStatus[] }).partitions;

  before(async () => {
    etcd = await startEtcd();
    sdk = await startSdkEndpoint([counter]);
    nodes.push(...(await Promise.all([startNode("n1"), startNode("n2", ["--join"]), startNode("n3", ["--join"])])));
    assert.equal((await registerDeployment(admin(nodes[0]), sdk.url)).status, 201);
  });

  after(async () => {
    await Promise.all(nodes.map((p) => p.kill9()));
    await sdk?.close();
    await etcd?.stop();
    tmp.remove();
  });

  it("prints a warning naming the setting at start, and keeps every log's trim point at 0 under load", async () => {
    for (const p of nodes) assert.match(p.stdout(), /no snapshot repository is configured \(snapshots\.destination, --snapshot-destination\): this cluster never trims its logs/);
    const ingress = `http://127.0.0.1:${nodes[0].ready.ingress}`;
    let answered = 0;
    await eventually(async () => (await callJson(ingress, "/Counter/warm/add", 1)).status === 200, 60_000, "the cluster to serve");
    for (let i = 0; i < 150; i++) if ((await callJson(ingress, `/Counter/k${i % 15}/add`, 1)).status === 200) answered++;
    assert.ok(answered >= 140, `${answered} of 150 adds answered`);
    await sleep(10 * TRIM_INTERVAL_MS);
    const led = (await Promise.all(nodes.map(status))).flat().filter((p) => p.leader);
    assert.equal(led.length, PARTITIONS, "each partition has a leader, and only leaders trim");
    for (const p of led) assert.ok(p.applied_lsn > 20, `partition ${p.partition_id} applied ${p.applied_lsn}`);
    // The trim point as the log servers report it, asked through every node.
    for (const p of nodes) for (const s of await status(p)) assert.deepEqual([s.partition_id, s.archived_lsn, s.trim_point], [s.partition_id, null, 0]);
  });
});
