import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startEtcd, type EtcdServer } from "../support/etcd.ts";
import { counter, greeter } from "../support/example-services.ts";
import { RunMode } from "../../src/net/ctl/gen/restate/cluster_pb.ts";
import { withPeerClusterCtrl } from "../../src/net/ctl/peer-client.ts";
import { eventually } from "../support/eventually.ts";
import { callJson, registerDeployment, tempDir } from "../support/reprise.ts";
import { startRepriseServer, type RepriseProcess } from "../support/reprise-server.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import { startS3Server, type S3Server } from "./s3-server.ts";

const PARTITIONS = 2;

interface PartitionStatus {
  partition_id: number;
  leader: boolean;
  applied_lsn: number;
  archived_lsn: number | null;
  trim_point: number | null;
}

/**
 * Three workers (each a log server too) on etcd with an s3:// repository on an S3-protocol server:
 * leaders snapshot and trim their logs, never past the archived LSN; a fourth node on a fresh disk
 * joins, gets a replica of every partition, starts each from a snapshot (the log no longer has
 * the beginning) and ends with the same SQL rows as the others.
 */
describe("cluster with an s3:// repository: trimming to the archived LSN, a new node bootstraps from snapshots", { timeout: 240_000 }, () => {
  const tmp = tempDir("reprise-cluster-snapshots-");
  let etcd: EtcdServer;
  let s3: S3Server;
  let sdk: SdkEndpoint;
  const nodes = new Map<string, RepriseProcess>();

  const startNode = async (name: string, extra: string[] = []): Promise<RepriseProcess> => {
    const proc = await startRepriseServer(
      [
        ...["--metadata", `etcd://${new URL(etcd.endpoint).host}`, "--cluster-name", "snap-cluster", "--node-name", name, "--roles", "worker,log-server"],
        ...["--base-dir", join(tmp.path, name), "--bind-address", "127.0.0.1", "--node-port", "0", "--ingress-port", "0", "--admin-port", "0"],
        ...["--partitions", String(PARTITIONS), "--replication", "2", "--partition-replication", "4"],
        ...["--snapshot-destination", `s3://${s3.bucket}/cluster`, "--snapshot-interval-records", "40", "--log-trim-interval-ms", "300", ...extra],
      ],
      {
        REPRISE_SNAPSHOTS__AWS_ENDPOINT_URL: s3.settings.endpointUrl,
        REPRISE_SNAPSHOTS__AWS_REGION: s3.settings.region,
        REPRISE_SNAPSHOTS__AWS_ACCESS_KEY_ID: s3.settings.accessKeyId,
        REPRISE_SNAPSHOTS__AWS_SECRET_ACCESS_KEY: s3.settings.secretAccessKey,
        REPRISE_SNAPSHOTS__AWS_FORCE_PATH_STYLE: "true",
      },
    );
    nodes.set(name, proc);
    return proc;
  };
  const admin = (p: RepriseProcess) => `http://127.0.0.1:${p.ready.admin}`;
  const status = async (p: RepriseProcess): Promise<PartitionStatus[]> =>
    ((await (await fetch(`${admin(p)}/snapshots`)).json()) as { partitions: PartitionStatus[] }).partitions.sort((a, b) => a.partition_id - b.partition_id);
  const rows = async (p: RepriseProcess, sql: string): Promise<string[]> => {
    const res = await fetch(`${admin(p)}/query`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify({ query: sql }) });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return (JSON.parse(text) as { rows: unknown[] }).rows.map((r) => JSON.stringify(r)).sort();
  };
  const dump = async (p: RepriseProcess) => ({
    status: await rows(p, "SELECT * FROM sys_invocation_status"),
    journal: await rows(p, "SELECT * FROM sys_journal"),
    state: await rows(p, "SELECT * FROM state"),
    idempotency: await rows(p, "SELECT * FROM sys_idempotency"),
  });

  before(async () => {
    etcd = await startEtcd();
    s3 = await startS3Server("snapshots");
    sdk = await startSdkEndpoint([greeter, counter]);
    await Promise.all([startNode("n1"), startNode("n2", ["--join"]), startNode("n3", ["--join"])]);
    assert.equal((await registerDeployment(admin(nodes.get("n1")!), sdk.url)).status, 201);
  });

  after(async () => {
    await Promise.all([...nodes.values()].map((p) => p.kill9()));
    await sdk?.close();
    await s3?.stop();
    await etcd?.stop();
    tmp.remove();
  });

  it("trims each log only up to its archived LSN, and a fourth node on a fresh disk starts from snapshots and matches", async () => {
    const ingress = `http://127.0.0.1:${nodes.get("n1")!.ready.ingress}`;
    await eventually(async () => (await callJson(ingress, "/Counter/warm/add", 1)).status === 200, 60_000, "the cluster to serve");
    for (let i = 0; i < 120; i++) {
      assert.equal((await callJson(ingress, `/Counter/k${i % 12}/add`, 1)).status, 200);
      if (i % 10 === 0) assert.equal((await callJson(ingress, "/Greeter/greet", `g${i}`, { "idempotency-key": `g${i}` })).status, 200);
    }
    const three = [...nodes.values()];
    let led: PartitionStatus[] = [];
    await eventually(
      async () => {
        led = (await Promise.all(three.map(status))).flat().filter((p) => p.leader);
        return led.length === PARTITIONS && led.every((p) => (p.trim_point ?? 0) > 0);
      },
      60_000,
      "every log trimmed",
    );
    for (const p of led) assert.ok(p.trim_point! <= p.archived_lsn!, `partition ${p.partition_id}: trim point ${p.trim_point} above archived LSN ${p.archived_lsn}`);

    // What restatectl reads (GetClusterState, asked of n1 for every node): each leader's archived LSN, from the repository.
    const ctl = <T>(p: RepriseProcess, call: Parameters<typeof withPeerClusterCtrl<T>>[1]) => withPeerClusterCtrl(`127.0.0.1:${p.nodePort}`, call);
    const cluster = await ctl(three[0]!, (c) => c.getClusterState({}));
    const leaders = Object.values(cluster.clusterState!.nodes).flatMap((n) => (n.state.case === "alive" ? Object.entries(n.state.value.partitions) : []));
    for (const p of led) {
      const [, shown] = leaders.find(([pid, s]) => Number(pid) === p.partition_id && s.effectiveMode === RunMode.LEADER) ?? [];
      assert.ok(shown?.lastArchivedLogLsn !== undefined && shown.lastArchivedLogLsn.value >= BigInt(p.trim_point!), `partition ${p.partition_id}: archived LSN shown ${shown?.lastArchivedLogLsn?.value}, trimmed to ${p.trim_point}`);
    }
    // SQL on another node shows every replica of every partition, the leaders' archived LSNs among them.
    const states = (await rows(three[1]!, "SELECT partition_id, plain_node_id, effective_mode, archived_log_lsn FROM partition_state")).map(
      (r) => JSON.parse(r) as { partition_id: number; plain_node_id: string; effective_mode: string; archived_log_lsn: number | null },
    );
    assert.equal(states.length, PARTITIONS * three.length, JSON.stringify(states));
    for (const p of led) {
      const leaderRows = states.filter((r) => r.partition_id === p.partition_id && r.effective_mode === "Leader");
      assert.equal(leaderRows.length, 1, JSON.stringify(states));
      assert.ok(leaderRows[0]!.archived_log_lsn !== null && leaderRows[0]!.archived_log_lsn >= p.trim_point!, JSON.stringify(leaderRows[0]));
    }
    // restatectl snapshots create asked of a node that does not lead the partition: the snapshot is taken and archived.
    const statuses = await Promise.all(three.map(status));
    const follower = three.find((_, i) => statuses[i]!.some((s) => s.partition_id === 0 && !s.leader))!;
    const archivedBefore = led.find((p) => p.partition_id === 0)!.archived_lsn!;
    const taken = await ctl(follower, (c) => c.createPartitionSnapshot({ partitionId: 0 }));
    assert.ok(taken.snapshotId !== "" && taken.minAppliedLsn >= BigInt(archivedBefore), `snapshot ${taken.snapshotId} at ${taken.minAppliedLsn}, archived was ${archivedBefore}`);
    assert.ok((await status(follower)).find((s) => s.partition_id === 0)!.archived_lsn! >= Number(taken.minAppliedLsn));

    const n4 = await startNode("n4", ["--join"]);
    // Applied LSNs move on (leaders announce, snapshots go on); compare once the new node caught up with the leaders.
    await eventually(
      async () => {
        const mine = await status(n4);
        const leaders = (await Promise.all(three.map(status))).flat().filter((p) => p.leader);
        return mine.length === PARTITIONS && mine.every((p) => leaders.some((l) => l.partition_id === p.partition_id && l.applied_lsn === p.applied_lsn));
      },
      90_000,
      "n4 to hold every partition at its leader's applied LSN",
    );
    // The logs had lost their first records before n4 started: it got here only through snapshots
    // (without one its processors would have halted on the trim gap).
    assert.deepEqual(await dump(n4), await dump(three[0]));
    assert.ok((await dump(n4)).state.length >= 12);
  });
});
