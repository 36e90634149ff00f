import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { PartitionTable } from "../../src/metadata/documents.ts";
import { idempotentInvocationId, PartitionRouter } from "../../src/partition/routing.ts";
import { partitionKeyOf } from "../../src/types/ids.ts";
import { heldAwakeables } from "../support/example-services.ts";
import { eventually } from "../support/eventually.ts";
import type { RepriseProcess } from "../support/reprise-server.ts";
import { objectKeyIn } from "../support/object-keys.ts";
import { threeWorkers } from "../support/three-workers.ts";

const PARTITIONS = 2;
const router = new PartitionRouter(PARTITIONS);
/** Without an answer a request through a node without a replica would hang: bound every one. */
const REQUEST_TIMEOUT_MS = 20_000;

const counterKeyIn = (partition: number, prefix: string): string => objectKeyIn(router, "Counter", partition, prefix);

/** An idempotency key that puts a Greeter/greet call in `partition` (a service call's partition is otherwise random). */
function greetKeyIn(partition: number, prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}-${i}`;
    if (router.partitionOfKey(partitionKeyOf(idempotentInvocationId("Greeter", "", "greet", key))) === partition) return key;
  }
}

/**
 * Three `reprise server` processes on a real etcd with `--partition-replication 2`: every
 * partition has one worker without a replica of it, whose ingress forwards calls to the leader
 * and must still get their results (relayed by the leader) and read invocations (from a replica).
 */
describe("three workers, two replicas per partition: every node's ingress answers for every partition", { timeout: 180_000 }, () => {
  const { nodes, ingressOf, table: readTable } = threeWorkers({
    cluster: "partial-replication",
    partitions: PARTITIONS,
    args: ["--replication", "2", "--partition-replication", "2"],
  });
  let table: PartitionTable;

  const request = (url: string, init: RequestInit = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const call = (p: RepriseProcess, path: string, body: unknown, headers: Record<string, string> = {}) =>
    request(`${ingressOf(p)}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  /** The worker the partition table gives no replica of `partition`. */
  const withoutReplica = (partition: number): RepriseProcess => {
    const p = table.partitions.find((x) => Number(x.partitionId) === partition)!;
    const holders = new Set<number>([p.leader!, ...p.followers]);
    const outside = [...nodes.values()].filter((n) => !holders.has(n.nodeId));
    assert.equal(outside.length, 1, `one worker without a replica of partition ${partition}`);
    return outside[0];
  };
  const withReplica = (partition: number): RepriseProcess => [...nodes.values()].find((n) => n !== withoutReplica(partition))!;

  before(async () => {
    await eventually(
      async () => {
        table = await readTable();
        return table.partitions.length === PARTITIONS && table.partitions.every((p) => p.leader !== undefined && p.followers.length === 1);
      },
      30_000,
      "every partition with a leader and one follower",
    );
  });

  it("answers a virtual object's and a service's calls through every node, for every partition", async () => {
    for (const [name, proc] of nodes) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const key = counterKeyIn(partition, `calls-${name}`);
        // The first call may meet a leader still taking over: retry until the partition serves.
        await eventually(async () => (await call(proc, `/Counter/${key}/add`, 1)).status === 200, 30_000, `${name} serving partition ${partition}`);
        const add = await call(proc, `/Counter/${key}/add`, 2);
        assert.equal(add.status, 200, `${name}, partition ${partition}: ${await add.clone().text()}`);
        assert.equal(await add.json(), 3, `${name}, partition ${partition}`);
        const greet = await call(proc, "/Greeter/greet", name, { "idempotency-key": greetKeyIn(partition, `greet-${name}`) });
        assert.equal(greet.status, 200, `${name}, partition ${partition}: ${await greet.clone().text()}`);
        assert.equal(await greet.json(), `Hello, ${name}!`);
      }
      for (let i = 0; i < 4; i++) {
        const greet = await call(proc, "/Greeter/greet", `${name}-${i}`);
        assert.equal(await greet.json(), `Hello, ${name}-${i}!`, `${name}: a service call on a random partition`);
      }
    }
  });

  it("an idempotent call retried through the node without a replica returns the first result, and its output is readable there", async () => {
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const outside = withoutReplica(partition);
      const key = counterKeyIn(partition, "idempotent");
      const headers = { "idempotency-key": `once-${partition}` };
      const first = await call(withReplica(partition), `/Counter/${key}/add`, 5, headers);
      assert.equal(first.status, 200, await first.clone().text());
      assert.equal(await first.json(), 5);
      const id = first.headers.get("x-restate-id");
      assert.ok(id, "the call's invocation id");

      const retried = await call(outside, `/Counter/${key}/add`, 5, headers);
      assert.equal(retried.status, 200, await retried.clone().text());
      assert.equal(await retried.json(), 5, `partition ${partition}: the first result, not a second add`);
      assert.equal(retried.headers.get("x-restate-id"), id);

      const output = await request(`${ingressOf(outside)}/restate/invocation/${id}/output`);
      assert.equal(output.status, 200, `partition ${partition}: ${await output.clone().text()}`);
      assert.equal(await output.json(), 5);
      const total = await call(outside, `/Counter/${key}/add`, 0);
      assert.equal(await total.json(), 5, `partition ${partition}: the add applied once`);

      // Admin reads the status there too: a completed invocation cannot be cancelled (not: unknown).
      const cancel = await request(`http://127.0.0.1:${outside.ready.admin}/invocations/${id}?mode=cancel`, { method: "DELETE" });
      assert.equal(cancel.status, 409, await cancel.text());
    }
  });

  const query = async (p: RepriseProcess, sql: string): Promise<Record<string, unknown>[]> => {
    const res = await request(`http://127.0.0.1:${p.ready.admin}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: sql }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `${sql}: ${text}`);
    return (JSON.parse(text) as { rows: Record<string, unknown>[] }).rows;
  };
  const ALL = "SELECT id, target, status FROM sys_invocation ORDER BY id";
  const COUNTS = "SELECT status, count(*) AS n FROM sys_invocation GROUP BY status ORDER BY status";

  it("SQL on every node reads every partition once: the same rows, counts and lookups through each", async () => {
    const key = counterKeyIn(0, "sql-held");
    const held = call(withReplica(0), `/Counter/${key}/hold`, null, { "idempotency-key": "sql-hold" });
    await eventually(() => heldAwakeables.has(key), 15_000, "the held invocation's awakeable");
    const heldId = idempotentInvocationId("Counter", key, "hold", "sql-hold");
    const procs = [...nodes.values()];
    const all = await Promise.all(procs.map((p) => query(p, ALL)));
    const ids = all[0]!.map((r) => r.id as string);
    assert.equal(new Set(ids).size, ids.length, "each invocation once");
    assert.deepEqual(new Set(ids.map((id) => router.partitionOfKey(partitionKeyOf(id as never)))), new Set([0, 1]), "both partitions");
    // The earlier tests made more than 20 calls through every node.
    assert.ok(ids.length >= 20, `${ids.length} invocations`);
    for (const [i, rows] of all.entries()) assert.deepEqual(rows, all[0], `node ${procs[i]!.nodeId} reads the same rows`);
    const counts = await Promise.all(procs.map((p) => query(p, COUNTS)));
    for (const c of counts) assert.deepEqual(c, counts[0]);
    assert.equal(counts[0]!.reduce((n, r) => n + Number(r.n), 0), ids.length);
    // One invocation by id on the node that has no replica of its partition.
    const lookup = await query(withoutReplica(0), `SELECT id, status FROM sys_invocation WHERE id = '${heldId}'`);
    assert.deepEqual(lookup, [{ id: heldId, status: "running" }]);
    await request(`${ingressOf(withReplica(0))}/restate/awakeables/${heldAwakeables.get(key)}/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify("done"),
    });
    assert.equal((await held).status, 200);
  });

  it("attaches to a running invocation through the node without a replica and resolves its awakeable there", async () => {
    const partition = 1;
    const outside = withoutReplica(partition);
    const key = counterKeyIn(partition, "held");
    const held = call(withReplica(partition), `/Counter/${key}/hold`, null, { "idempotency-key": "hold-1" });
    await eventually(() => heldAwakeables.has(key), 15_000, "the held invocation's awakeable");
    const id = idempotentInvocationId("Counter", key, "hold", "hold-1");
    const running = await request(`${ingressOf(outside)}/restate/invocation/${id}/output`);
    assert.equal(running.status, 470, `not ready yet: ${await running.text()}`);
    const attached = request(`${ingressOf(outside)}/restate/invocation/${id}/attach`);
    const resolved = await request(`${ingressOf(outside)}/restate/awakeables/${heldAwakeables.get(key)}/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify("released"),
    });
    assert.equal(resolved.status, 202, await resolved.text());
    const attachedAnswer = await attached;
    assert.equal(attachedAnswer.status, 200, await attachedAnswer.clone().text());
    assert.equal(await attachedAnswer.json(), "released");
    assert.equal(await (await held).json(), "released");
  });

  it("SQL reads a killed leader's partitions from their other replicas, before any failover", async () => {
    const leader = [...nodes.values()].find((n) => n.nodeId === table.partitions.find((p) => Number(p.partitionId) === 0)!.leader)!;
    const others = [...nodes.values()].filter((n) => n !== leader);
    const before = await query(others[0]!, ALL);
    await leader.kill9();
    for (const p of others) assert.deepEqual(await query(p, ALL), before, `node ${p.nodeId} without the leader of partition 0`);
  });
});
