import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import type { Node } from "../../src/cluster/node.ts";
import { RepriseError } from "../../src/types/errors.ts";
import { counter, greeter } from "../support/example-services.ts";
import { eventually } from "../support/eventually.ts";
import { spawnNodeChild } from "../support/process.ts";
import { callJson, registerDeployment, startInProcess, tempDir } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import { startS3Server, type S3Server } from "./s3-server.ts";
import { REPRISE } from "../support/reprise-server.ts";


const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (ctx: restate.WorkflowContext) => ctx.promise<string>("link").get(),
    click: async (ctx: restate.WorkflowSharedContext, link: string) => ctx.promise<string>("link").resolve(link),
  },
});

type Row = Record<string, unknown>;

/** Restate's introspection tables and the sys_invocation view. */
const SQL_TABLES = [
  "sys_invocation_status",
  "sys_invocation_state",
  "sys_invocation",
  "sys_journal",
  "state",
  "sys_inbox",
  "sys_idempotency",
  "sys_promise",
  "sys_keyed_service_status",
  "sys_service",
  "sys_deployment",
];
interface PartitionStatus {
  partition_id: number;
  applied_lsn: number;
  archived_lsn: number | null;
  trim_point: number | null;
}

const adminOf = (node: Node) => `http://127.0.0.1:${node.adminPort}`;
const ingressOf = (node: Node) => `http://127.0.0.1:${node.ingressPort}`;

async function status(node: Node): Promise<PartitionStatus[]> {
  const res = await fetch(`${adminOf(node)}/snapshots`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { partitions: PartitionStatus[] }).partitions.sort((a, b) => a.partition_id - b.partition_id);
}

/** Every row of every SQL table (and the sys_invocation view), in a stable order. */
async function dumpTables(node: Node): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of SQL_TABLES) {
    const res = await fetch(`${adminOf(node)}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: `SELECT * FROM ${table}` }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    out[table] = (JSON.parse(text) as { rows: Row[] }).rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

/** Invocations that leave rows in most tables: state, journals, idempotency, promises, scheduled ones. */
async function load(node: Node, round: string): Promise<void> {
  const ingress = ingressOf(node);
  for (let i = 0; i < 12; i++) assert.equal((await callJson(ingress, `/Counter/${round}-${i % 6}/add`, i)).status, 200);
  for (let i = 0; i < 4; i++) assert.equal((await callJson(ingress, "/Greeter/greet", `${round}-${i}`, { "idempotency-key": `${round}-idem-${i}` })).status, 200);
  const run = callJson(ingress, `/Signup/${round}/run`);
  assert.equal((await callJson(ingress, `/Signup/${round}/click`, `link-${round}`)).status, 200);
  assert.equal((await run).status, 200);
  assert.equal((await callJson(ingress, "/Greeter/greet/send?delay=1h", `later-${round}`)).status, 202);
}

describe("single node: snapshots, trimming and bootstrap from a snapshot", { timeout: 180_000 }, () => {
  let sdk: SdkEndpoint;
  let s3: S3Server;
  const tmp = tempDir("reprise-snapshots-");
  let n = 0;

  before(async () => {
    sdk = await startSdkEndpoint([counter, greeter, signup]);
    s3 = await startS3Server();
  });
  after(async () => {
    await sdk.close();
    await s3.stop();
    tmp.remove();
  });

  /**
   * Load, snapshot (through the CLI), more load, trim; stop, delete the partition stores, start:
   * every SQL row is as before, rebuilt from the snapshots and the log's tail.
   */
  const roundTrip = async (snapshots: Record<string, unknown>): Promise<void> => {
    const baseDir = join(tmp.path, `node-${n++}`);
    const config = { snapshots: { intervalNumRecords: 0, intervalMs: 0, ...snapshots }, log: { trimIntervalMs: 200 } };
    let node = await startInProcess(baseDir, config);
    try {
      assert.equal((await registerDeployment(adminOf(node), sdk.url)).status, 201);
      await load(node, "a");
      const cli = spawnNodeChild(REPRISE, ["snapshots", "create", "--admin-url", adminOf(node)]);
      assert.equal(await cli.exited, 0, cli.stderr());
      assert.match(cli.stdout(), /^partition 0: snapshot \w+ at LSN \d+ \(\d+ bytes\) in \S+\npartition 1: snapshot/);
      await load(node, "b");
      const archived = (await status(node)).map((p) => p.archived_lsn!);
      assert.ok(archived.every((lsn) => lsn > 0), `archived LSNs ${archived}`);
      await eventually(async () => (await status(node)).every((p, i) => p.trim_point === archived[i]), 10_000, "logs trimmed to the archived LSN");
      for (const p of await status(node)) assert.ok(p.applied_lsn > p.trim_point!, "the tail after the snapshot is still in the log");
      // SQL shows the same archived LSNs, in Restate's partition_state table.
      const shown = await fetch(`${adminOf(node)}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: "SELECT partition_id, plain_node_id, effective_mode, archived_log_lsn, applied_log_lsn FROM partition_state ORDER BY partition_id" }),
      });
      const states = ((await shown.json()) as { rows: { partition_id: number; plain_node_id: string; effective_mode: string; archived_log_lsn: number; applied_log_lsn: number }[] }).rows;
      assert.deepEqual(states.map((r) => [r.partition_id, r.plain_node_id, r.effective_mode, r.archived_log_lsn]), archived.map((lsn, i) => [i, "N1", "Leader", lsn]));
      for (const r of states) assert.ok(r.applied_log_lsn >= r.archived_log_lsn, JSON.stringify(r));
      const before = await dumpTables(node);
      const appliedBefore = (await status(node)).map((p) => p.applied_lsn);
      assert.ok(before.sys_invocation_status.length >= 20 && before.state.length >= 6 && before.sys_promise.length >= 1 && before.sys_idempotency.length >= 4);

      await node.stop();
      rmSync(join(baseDir, "partitions"), { recursive: true, force: true });
      node = await startInProcess(baseDir, config);
      assert.deepEqual(await dumpTables(node), before);
      // Each partition replayed its tail; a new leader announcement is the one record more.
      for (const [i, p] of (await status(node)).entries()) assert.ok(p.applied_lsn > appliedBefore[i], `partition ${i} at ${p.applied_lsn}`);
      await load(node, "c");
    } finally {
      await node.stop();
    }
  };

  it("file:// (the default repository, under the base dir): rows identical after the stores are deleted", async () => {
    await roundTrip({});
  });

  it("s3:// on an S3-protocol server: rows identical after the stores are deleted", async () => {
    const { settings } = s3;
    await roundTrip({
      destination: `s3://${s3.bucket}/cluster-a`,
      awsRegion: settings.region,
      awsEndpointUrl: settings.endpointUrl,
      awsAccessKeyId: settings.accessKeyId,
      awsSecretAccessKey: settings.secretAccessKey,
      awsForcePathStyle: true,
    });
  });

  it("without a repository the log is trimmed to the persisted LSN, and a store that then goes missing is refused, naming partition, gap and setting", async () => {
    const baseDir = join(tmp.path, `node-${n++}`);
    const config = { snapshots: { destination: "none" }, log: { trimIntervalMs: 200 } };
    const node = await startInProcess(baseDir, config);
    try {
      assert.equal((await registerDeployment(adminOf(node), sdk.url)).status, 201);
      await load(node, "a");
      // Compared with the applied LSN of the same reading: the delayed send that ends the load is
      // acknowledged once durable, so it may be applied (and the stores move on) only after the load.
      await eventually(async () => (await status(node)).every((p) => p.applied_lsn > 0 && p.trim_point === p.applied_lsn), 10_000, "logs trimmed to what the stores persisted");
      assert.equal((await fetch(`${adminOf(node)}/snapshots`, { method: "POST", body: "{}" })).status, 409);
    } finally {
      await node.stop();
    }
    rmSync(join(baseDir, "partitions"), { recursive: true, force: true });
    await assert.rejects(startInProcess(baseDir, config), (e: unknown) => {
      // Raised on a partition thread: it arrives as a RepriseError with the TrimGapError's code.
      assert.ok(e instanceof RepriseError && e.code === "trim_gap", String(e));
      assert.match(e.message, /^partition [01]: its log is trimmed up to LSN \d+, but its store has applied only up to LSN 0, so records 1\.\.\d+ are gone/);
      assert.match(e.message, /no snapshot repository is configured/);
      assert.match(e.message, /snapshots\.destination \(--snapshot-destination\)/);
      return true;
    });
  });

  it("an unreachable repository never blocks apply, and scheduled snapshots are retried until it answers", async () => {
    const port = await freePort();
    const baseDir = join(tmp.path, `node-${n++}`);
    const node = await startInProcess(baseDir, {
      snapshots: {
        destination: "s3://late/x",
        intervalNumRecords: 1,
        awsRegion: "us-east-1",
        awsEndpointUrl: `http://127.0.0.1:${port}`,
        awsAccessKeyId: "S3RVER",
        awsSecretAccessKey: "S3RVER",
        awsForcePathStyle: true,
      },
      log: { trimIntervalMs: 200 },
    });
    let late: S3Server | null = null;
    try {
      assert.equal((await registerDeployment(adminOf(node), sdk.url)).status, 201);
      const started = Date.now();
      await load(node, "a");
      assert.ok(Date.now() - started < 10_000, `the load took ${Date.now() - started} ms`);
      const refused = await fetch(`${adminOf(node)}/snapshots`, { method: "POST", body: JSON.stringify({ partition: 0 }) });
      assert.equal(refused.status, 503);
      assert.equal(((await refused.json()) as { error_code: string }).error_code, "snapshot_repository_unavailable");
      assert.deepEqual((await status(node)).map((p) => [p.archived_lsn, p.trim_point]), [[null, 0], [null, 0]]);
      late = await startS3Server("late", port);
      await eventually(async () => (await status(node)).every((p) => (p.archived_lsn ?? 0) > 0), 45_000, "snapshots once the repository answers");
    } finally {
      await node.stop();
      await late?.stop();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
