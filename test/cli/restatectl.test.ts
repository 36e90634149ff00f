import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PartitionId } from "../../src/types/ids.ts";
import { startEtcd, type EtcdServer } from "../support/etcd.ts";
import { counter, greeter } from "../support/example-services.ts";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson, registerDeployment, tempDir } from "../support/reprise.ts";
import { startRepriseServer, type RepriseProcess } from "../support/reprise-server.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";

/** The npm package's launcher, which runs the native restatectl binary of this platform. */
const RESTATECTL = createRequire(import.meta.url).resolve("@restatedev/restatectl/lib/index.js");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `restatectl --address <address> <args>` with a throwaway home and no colours; never rejects. */
function restatectl(home: string, address: string, ...args: string[]): Promise<Run> {
  const env = { PATH: process.env.PATH ?? "", HOME: home, NO_COLOR: "1", TERM: "dumb" };
  return new Promise((resolve) => {
    execFile(process.execPath, [RESTATECTL, "--address", address, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      resolve({ code, stdout: stripAnsi(stdout), stderr: stripAnsi(stderr) });
    });
  });
}

async function ok(run: Promise<Run>): Promise<string> {
  const { code, stdout, stderr } = await run;
  assert.equal(code, 0, `restatectl failed (${code})\nstdout: ${stdout}\nstderr: ${stderr}`);
  return stdout;
}

function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

/**
 * The rows of the table whose header line starts with `firstColumn`, as column → cell. restatectl
 * left-aligns cells under their headers, so a cell is the text between its header's start and the
 * next header's (cells may hold spaces: "2 ms ago", "admin | worker").
 */
function table(stdout: string, firstColumn: string): Record<string, string>[] {
  const lines = stdout.split("\n");
  const at = lines.findIndex((l) => l.trimStart().startsWith(`${firstColumn} `));
  assert.ok(at >= 0, `no table with column ${firstColumn} in:\n${stdout}`);
  const columns = [...lines[at].matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() === "") break;
    rows.push(Object.fromEntries(columns.map((c, i) => [c.name, line.slice(c.start, columns[i + 1]?.start ?? line.length).trim()])));
  }
  return rows;
}

describe("the real restatectl against a single Reprise node", () => {
  let fixture: Fixture;
  let address: string;
  let home: string;
  const ctl = (...args: string[]): Promise<Run> => restatectl(home, address, ...args);

  before(async () => {
    fixture = await startFixture({ services: [greeter, counter] });
    address = `http://127.0.0.1:${fixture.node.nodePort}`;
    home = join(fixture.dir, "home");
    assert.equal((await callJson(fixture.ingress, "/Greeter/greet", "Ada")).status, 200);
    for (const key of ["a", "b", "c"]) assert.equal((await callJson(fixture.ingress, `/Counter/${key}/add`, 1)).status, 200);
    // Quiet from here on: every processor has applied its whole log.
    const worker = fixture.node.workerSource();
    await eventually(async () => {
      for (const [pid, p] of worker.processors) if (p.appliedLsn !== (await worker.log.describeTail(worker.logOf(pid))).tail - 1) return false;
      return true;
    }, 10_000, "every partition caught up");
  });

  after(() => fixture?.stop());

  it("reports its version offline, from the binary in the npm package", async () => {
    const { code, stdout } = await restatectl(home, "http://127.0.0.1:1", "--version");
    assert.equal(code, 0);
    assert.match(stdout, /^restatectl 1\.7\.12 /);
  });

  it("status: the node alive with its roles, leading every partition", async () => {
    const out = await ok(ctl("status"));
    assert.match(out, /Node Configuration \(v1\)/);
    const [row, ...others] = table(out, "NODE-ID");
    assert.equal(others.length, 0);
    assert.equal(row["NODE-ID"], "N1:1");
    assert.equal(row.NAME, "node-1");
    assert.equal(row.LEADER, String(fixture.node.processors.size));
    assert.equal(row.FOLLOWER, "0");
    assert.equal(row.ROLES, "admin | http-ingress | worker");
    assert.notEqual(row.UPTIME, "offline");
  });

  it("nodes list: id, generation, name, address and roles", async () => {
    const out = await ok(ctl("nodes", "list"));
    assert.deepEqual(table(out, "NODE"), [{ NODE: "N1", GEN: "1", NAME: "node-1", ADDRESS: `${address}/`, ROLES: "admin | http-ingress | worker" }]);
  });

  it("partitions list: each partition led here, with the processor's epoch and applied LSN and no lag", async () => {
    const out = await ok(ctl("partitions", "list"));
    assert.match(out, /Alive partition processors \(nodes config v1, partition table v1\)/);
    const rows = table(out, "ID");
    assert.equal(rows.length, fixture.node.processors.size);
    for (const [pid, p] of fixture.node.processors) {
      const row = rows.find((r) => r.ID === String(pid));
      assert.ok(row, `partition ${pid} listed`);
      assert.deepEqual(
        { NODE: row.NODE, MODE: row.MODE, STATUS: row.STATUS, EPOCH: row.EPOCH, APPLIED: row.APPLIED, DURABLE: row.DURABLE, ARCHIVED: row.ARCHIVED, "LSN-LAG": row["LSN-LAG"] },
        { NODE: "N1:1", MODE: "Leader", STATUS: "Active", EPOCH: `e${p.leaderEpoch}`, APPLIED: String(p.appliedLsn), DURABLE: String(p.appliedLsn), ARCHIVED: "-", "LSN-LAG": "0" },
      );
      assert.ok(p.appliedLsn > 1, "the calls were applied");
    }
  });

  it("snapshots create: each partition snapshotted into the repository, its LSN then shown as archived", async () => {
    const out = await ok(ctl("snapshots", "create", "0-1"));
    const repository = (await (await fetch(`${fixture.admin}/snapshots`)).json()) as { partitions: { partition_id: number; archived_lsn: number | null }[] };
    const rows = table(await ok(ctl("partitions", "list")), "ID");
    for (const [pid, p] of fixture.node.processors) {
      // Quiet: the snapshot covers everything applied.
      assert.equal(repository.partitions.find((r) => r.partition_id === pid)?.archived_lsn, p.appliedLsn, `partition ${pid} snapshotted\n${out}`);
      assert.match(out, new RegExp(`\\b${pid}\\b[^\\n]*\\b${p.appliedLsn}\\b`), `the answer names partition ${pid} and its LSN\n${out}`);
      assert.equal(rows.find((r) => r.ID === String(pid))?.ARCHIVED, String(p.appliedLsn), `partitions list after the snapshot\n${JSON.stringify(rows)}`);
    }
    const below = await ctl("snapshots", "create", "0", "--min-lsn", "1000000");
    assert.match(below.stdout + below.stderr, /below the minimum 1000000 asked for; no snapshot taken/);
  });

  it("logs list, describe and find-tail: one local segment per partition's log, with its tail", async () => {
    const list = await ok(ctl("logs", "list"));
    assert.match(list, /Logs Provider: local/);
    const logs = table(list, "L-ID");
    assert.deepEqual(
      logs.map((l) => [l["L-ID"], l.SEGMENTS, l.FROM, l.KIND]),
      [...fixture.node.processors.keys()].map((pid) => [String(pid), "1", "1", "local"]),
    );

    const describe = await ok(ctl("logs", "describe", "1"));
    assert.match(describe, /Log Id: 1 \(v\d+\)/);
    assert.match(describe, /▶︎\s+0\s+1\s+local\b/, "the tail segment, index 0 from LSN 1");
    assert.match(describe, /1\/1 segments shown/);

    const worker = fixture.node.workerSource();
    const tails = table(await ok(ctl("logs", "find-tail", "0-1")), "LOG-ID");
    for (const pid of [0, 1]) {
      const tail = await worker.log.describeTail(worker.logOf(PartitionId(pid)));
      assert.deepEqual(tails[pid], { "LOG-ID": String(pid), SEGMENT: "0", STATE: "OPEN", "TAIL-LSN": String(tail.tail) });
    }
    const missing = table(await ok(ctl("logs", "find-tail", "7")), "LOG-ID");
    assert.match(missing[0].STATE, /log 7 does not exist/);
  });

  it("metadata get: Restate's document shapes, 64-bit key ranges exact", async () => {
    const nodes = JSON.parse(await ok(ctl("metadata", "get", "--key", "nodes_config"))) as Record<string, unknown>;
    assert.equal(nodes.version, 1);
    assert.equal(nodes.cluster_name, "reprise");
    assert.deepEqual(nodes.name_lookup, { "node-1": 1 });

    // JSON.parse would round the u64 bounds, so they are checked in the text.
    const table = await ok(ctl("metadata", "get", "--key", "partition_table"));
    assert.match(table, /"num_partitions": 2/);
    assert.match(table, /"end": 9223372036854775807,\s+"start": 0/);
    assert.match(table, /"end": 18446744073709551615,\s+"start": 9223372036854775808/);

    const logs = JSON.parse(await ok(ctl("metadata", "get", "--key", "bifrost_config"))) as { config: unknown; logs: [number, { chain: [number, { kind: string; params: string }][] }][] };
    assert.deepEqual(logs.config, { default_provider: "local" });
    const log1 = logs.logs.find(([id]) => id === 1)![1];
    assert.deepEqual(log1.chain, [[1, { created_at: null, index: 0, kind: "local", params: String(2 ** 32) }]]);

    const schema = JSON.parse(await ok(ctl("metadata", "get", "--key", "schema_registry"))) as { version: number };
    assert.ok(schema.version >= 1, "a document of Reprise's own shape is passed on with its version");
    assert.equal((await ok(ctl("metadata", "get", "--key", "no-such-key"))).trim(), "null");
  });

  it("config get: partitions and the logs provider", async () => {
    const out = await ok(ctl("config", "get"));
    assert.match(out, /Number of partitions: 2/);
    assert.match(out, /Partition replication: \{node: 1\}/);
    assert.match(out, /Logs Provider: local/);
  });

  it("a command that would change the cluster is answered UNIMPLEMENTED, saying why", async () => {
    const { stdout, stderr } = await ctl("logs", "seal", "0", "--yes");
    assert.match(stdout + stderr, /Operation is not implemented or not supported: restatectl logs seal is not supported by Reprise \(ClusterCtrlSvc\/SealChain\): it changes the cluster/);
    const provision = await ctl("provision", "--yes");
    assert.match(provision.stdout + provision.stderr, /restatectl provision is not supported by Reprise/);
  });
});

describe("the real restatectl against a Reprise cluster", { timeout: 180_000 }, () => {
  const CLUSTER = "ctl-cluster";
  const PARTITIONS = 2;
  const tmp = tempDir("reprise-ctl-cluster-");
  const home = join(tmp.path, "home");
  let etcd: EtcdServer;
  let sdk: SdkEndpoint;
  const nodes: RepriseProcess[] = [];

  const startNode = (name: string, roles: string, extra: string[] = []): Promise<RepriseProcess> =>
    startRepriseServer([
      ...["--metadata", `etcd://${new URL(etcd.endpoint).host}`, "--cluster-name", CLUSTER, "--node-name", name, "--roles", roles],
      ...["--base-dir", join(tmp.path, name), "--bind-address", "127.0.0.1", "--node-port", "0", "--ingress-port", "0", "--admin-port", "0"],
      ...["--partitions", String(PARTITIONS), "--replication", "2", ...extra],
    ]);
  /** The node id `n1`..`n3` got: nodes joining together get theirs in any order. */
  const idOf = (name: string): number => nodes[Number(name.slice(1)) - 1].nodeId;
  /** restatectl pointed at n1 only: it finds the other nodes in the nodes configuration. */
  const ctl = (...args: string[]): Promise<Run> => restatectl(home, `http://127.0.0.1:${nodes[0].nodePort}`, ...args);

  before(async () => {
    etcd = await startEtcd();
    sdk = await startSdkEndpoint([greeter, counter]);
    nodes.push(...(await Promise.all([startNode("n1", "worker,log-server"), startNode("n2", "worker,log-server", ["--join"]), startNode("n3", "log-server", ["--join"])])));
    const admin = `http://127.0.0.1:${nodes[0].ready.admin}`;
    const registered = await registerDeployment(admin, sdk.url);
    assert.equal(registered.status, 201, await registered.clone().text());
  });

  after(async () => {
    for (const n of nodes) await n.kill9();
    await sdk?.close();
    await etcd?.remove();
    tmp.remove();
  });

  it("shows every node, each partition's leader and follower with epochs and applied LSNs, and the replicated logs", async () => {
    // The controller places a leader and a follower of each partition on the two workers.
    let partitions: Record<string, string>[] = [];
    await eventually(async () => {
      const run = await ctl("partitions", "list");
      if (run.code !== 0) return false;
      partitions = table(run.stdout, "ID");
      return [...Array(PARTITIONS).keys()].every(
        (pid) => partitions.filter((r) => r.ID === String(pid) && r.MODE === "Leader").length === 1 && partitions.some((r) => r.ID === String(pid) && r.MODE === "Follower"),
      );
    }, 60_000, "a leader and a follower of every partition");
    const ingress = `http://127.0.0.1:${nodes[0].ready.ingress}`;
    for (let i = 1; i <= 3; i++) assert.equal(await (await callJson(ingress, "/Counter/c/add", 1)).json(), i);

    await eventually(async () => {
      partitions = table(await ok(ctl("partitions", "list")), "ID");
      return partitions.every((r) => r["LSN-LAG"] === "0");
    }, 20_000, "every replica caught up");
    const workers = [`N${idOf("n1")}:1`, `N${idOf("n2")}:1`];
    for (const row of partitions) {
      assert.ok(workers.includes(row.NODE), `${row.NODE} runs the worker role`);
      assert.equal(row.STATUS, "Active");
      assert.match(row.EPOCH, /^e[1-9]\d*$/);
      assert.match(row.APPLIED, /^[1-9]\d*$/);
      assert.equal(row.DURABLE, row.APPLIED);
    }
    for (let pid = 0; pid < PARTITIONS; pid++) {
      const replicas = partitions.filter((r) => r.ID === String(pid));
      assert.equal(new Set(replicas.map((r) => r.APPLIED)).size, 1, `replicas of partition ${pid} applied the same log`);
      assert.equal(new Set(replicas.map((r) => r.EPOCH)).size, 1, `replicas of partition ${pid} saw the same epoch`);
    }

    const status = table(await ok(ctl("status")), "NODE-ID");
    assert.deepEqual(
      status.map((r) => [r["NODE-ID"], r.NAME, r.ROLES]).sort((a, b) => a[1].localeCompare(b[1])),
      [
        [`N${idOf("n1")}:1`, "n1", "admin | http-ingress | log-server | worker"],
        [`N${idOf("n2")}:1`, "n2", "admin | http-ingress | log-server | worker"],
        [`N${idOf("n3")}:1`, "n3", "log-server"],
      ],
    );
    assert.ok(status.every((r) => r.UPTIME !== "offline"), "every node answered for itself");
    const leaders = status.reduce((n, r) => n + Number(r.LEADER), 0);
    assert.equal(leaders, PARTITIONS);

    const listed = table(await ok(ctl("nodes", "list")), "NODE");
    assert.deepEqual(
      listed.map((r) => [r.NODE, r.GEN, r.NAME, r.ADDRESS]),
      nodes
        .map((n, i) => [`N${n.nodeId}`, "1", `n${i + 1}`, `http://127.0.0.1:${n.nodePort}/`])
        .sort((a, b) => a[0].localeCompare(b[0])),
    );

    const logs = await ok(ctl("logs", "list"));
    assert.match(logs, /Logs Provider: replicated\n\s+├ Log replication: \{node: 2\}/);
    const chains = table(logs, "L-ID");
    assert.equal(chains.length, PARTITIONS);
    for (const chain of chains) {
      assert.equal(chain.KIND, "replicated");
      assert.equal(chain.REPLICATION, "{node: 2}");
      assert.ok(workers.includes(chain.SEQUENCER), `log ${chain["L-ID"]} is sequenced by a worker`);
      assert.match(chain["LOGLET-ID"], new RegExp(`^${chain["L-ID"]}_\\d+$`));
    }

    const describe = await ok(ctl("logs", "describe", "0"));
    assert.match(describe, /▶︎\s+\d+\s+\d+\s+replicated\s+0_\d+\s+\{node: 2\}\s+N\d:1\s+\[N\d(, N\d)+\]/);
    const [tail] = table(await ok(ctl("logs", "find-tail", "0")), "LOG-ID");
    assert.equal(tail.STATE, "OPEN");
    const leader0 = partitions.find((r) => r.ID === "0" && r.MODE === "Leader")!;
    assert.equal(Number(tail["TAIL-LSN"]), Number(leader0.APPLIED) + 1, "partition 0's leader applied its log up to the tail");
    assert.match(await ok(ctl("config", "get")), /Number of partitions: 2[\s\S]*Logs Provider: replicated/);
  });

  it("marks a killed node dead and keeps answering from the others", async () => {
    await nodes[2].kill9();
    const status = table(await ok(ctl("status")), "NODE-ID");
    const n3 = status.find((r) => r.NAME === "n3");
    assert.deepEqual([n3?.["NODE-ID"], n3?.UPTIME], [`N${nodes[2].nodeId}`, "offline"]);
    assert.ok(status.filter((r) => r.NAME !== "n3").every((r) => r.UPTIME !== "offline"));
  });

  it("follows a failover: after the leader's node is killed, partitions list shows the other worker leading with a higher epoch", async () => {
    // n3 back first, so the survivors are a majority and the controller may act.
    nodes[2] = await startNode("n3", "log-server");
    const before = table(await ok(ctl("partitions", "list")), "ID");
    const leader0 = before.find((r) => r.ID === "0" && r.MODE === "Leader")!;
    const victim = nodes.findIndex((n) => `N${n.nodeId}:1` === leader0.NODE);
    assert.ok(victim === 0 || victim === 1, `partition 0 is led by a worker (${leader0.NODE})`);
    const survivor = nodes[1 - victim];
    await nodes[victim].kill9();
    const epochOf = (r: Record<string, string>) => Number(r.EPOCH.slice(1));
    let after: Record<string, string>[] = [];
    await eventually(async () => {
      const run = await restatectl(home, `http://127.0.0.1:${survivor.nodePort}`, "partitions", "list");
      if (run.code !== 0) return false;
      after = table(run.stdout, "ID");
      const now0 = after.find((r) => r.ID === "0" && r.MODE === "Leader");
      return now0 !== undefined && now0.NODE === `N${survivor.nodeId}:1` && epochOf(now0) > epochOf(leader0);
    }, 30_000, "partition 0 led by the surviving worker with a higher epoch");
    const ingress = `http://127.0.0.1:${survivor.ready.ingress}`;
    const res = await callJson(ingress, "/Counter/c/add", 1);
    assert.equal(res.status, 200, await res.clone().text());
  });
});
