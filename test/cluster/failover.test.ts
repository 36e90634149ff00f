import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { PartitionRouter } from "../../src/partition/routing.ts";
import { eventually } from "../support/eventually.ts";
import { callJson } from "../support/reprise.ts";
import { objectKeyIn } from "../support/object-keys.ts";
import { threeWorkers } from "../support/three-workers.ts";

const PARTITIONS = 2;
const router = new PartitionRouter(PARTITIONS);
const keyIn = (partition: number, prefix: string): string => objectKeyIn(router, "Counter", partition, prefix);

/**
 * Three `reprise server` processes with every role (worker and log server) on a real etcd:
 * partitions have a leader and followers on different workers, and any node's ingress serves any
 * partition. Faults here are process faults (kill -9); the network faults are in the chaos harness.
 */
describe("three workers: partition replicas and leader failover", { timeout: 240_000 }, () => {
  const { nodes, startNode, ingressOf, table } = threeWorkers({ cluster: "failover-cluster", partitions: PARTITIONS, args: ["--replication", "2"] });
  const nameOf = (nodeId: number) => [...nodes].find(([, p]) => p.nodeId === nodeId)![0];

  it("places every partition on all three workers and serves every partition through every node's ingress", async () => {
    await eventually(
      async () => {
        const { partitions } = await table();
        return partitions.length === PARTITIONS && partitions.every((p) => p.leader !== undefined && p.followers.length === 2);
      },
      30_000,
      "every partition with a leader and two followers",
    );
    for (const [name, proc] of nodes) {
      for (let partition = 0; partition < PARTITIONS; partition++) {
        const key = keyIn(partition, `warm-${name}`);
        let res: Response | null = null;
        await eventually(async () => (res = await callJson(ingressOf(proc), `/Counter/${key}/add`, 1)).status === 200, 30_000, `${name} serving partition ${partition}`);
        assert.equal(await res!.json(), 1);
      }
    }
    const greet = await callJson(ingressOf(nodes.get("n2")!), "/Greeter/greet", "Ada");
    assert.equal(await greet.json(), "Hello, Ada!");
  });

  it("GET /cluster/status (the web UI's cluster page) on any node shows every node alive and each partition's replicas with one leader", async () => {
    const leaders = new Map((await table()).partitions.map((p) => [Number(p.partitionId), p.leader]));
    for (const [name, proc] of nodes) {
      await eventually(
        async () => {
          const res = await fetch(`http://127.0.0.1:${proc.ready.admin}/cluster/status`);
          assert.equal(res.status, 200, `${name}: ${await res.clone().text()}`);
          const s = (await res.json()) as {
            node_id: number;
            nodes: { id: number; state: string }[];
            partitions: { id: number; planned_leader: number; replicas: { node_id: number; mode: string; applied_lsn: number }[] }[];
            logs: { id: number; segments: { provider: string }[] }[];
          };
          assert.equal(s.node_id, proc.nodeId);
          assert.deepEqual(s.nodes.map((n) => n.state), ["alive", "alive", "alive"], name);
          assert.equal(s.partitions.length, PARTITIONS);
          for (const p of s.partitions) {
            assert.equal(p.planned_leader, leaders.get(p.id));
            assert.equal(p.replicas.length, 3, `${name}: replicas of partition ${p.id}`);
            assert.deepEqual(p.replicas.filter((r) => r.mode === "leader").map((r) => r.node_id), [p.planned_leader], `${name}: leader of partition ${p.id}`);
            assert.ok(p.replicas.every((r) => r.applied_lsn > 0));
          }
          assert.ok(s.logs.every((l) => l.segments.at(-1)!.provider === "replicated"), `${name}: replicated tail segments`);
          return true;
        },
        15_000,
        `${name}'s cluster status`,
      );
    }
  });

  it("kill -9 of a partition's leader under load: a follower leads within 10 s, no acknowledged add lost or applied twice", async (t) => {
    const before = await table();
    const victim = before.partitions[0];
    const victimName = nameOf(victim.leader!);
    const survivors = [...nodes].filter(([name]) => name !== victimName).map(([, p]) => p);
    const key = keyIn(0, "failover");
    const add = async (i: number): Promise<number | null> => {
      try {
        const res = await callJson(ingressOf(survivors[i % survivors.length]), `/Counter/${key}/add`, 1, { "idempotency-key": `add-${i}` });
        return res.status === 200 ? ((await res.json()) as number) : null;
      } catch {
        return null;
      }
    };
    const answered = new Map<number, number>();
    let next = 0;
    let stop = false;
    const lane = async (): Promise<void> => {
      while (!stop && next < 400) {
        const i = next++;
        const value = await add(i);
        if (value !== null) answered.set(i, value);
      }
    };
    const lanes = Array.from({ length: 4 }, lane);
    await eventually(() => answered.size >= 20, 30_000, "20 adds answered before the kill");
    const answeredBefore = answered.size;
    const killedAt = Date.now();
    await nodes.get(victimName)!.kill9();
    let newLeader: number | undefined;
    await eventually(
      async () => {
        const p = (await table()).partitions[0];
        if (p.leader === victim.leader || (p.leaderEpoch ?? 0) <= (victim.leaderEpoch ?? 0)) return false;
        newLeader = p.leader;
        return true;
      },
      10_000,
      "a new leader in the partition table",
    );
    await eventually(() => answered.size >= answeredBefore + 10, 20_000, "adds answered again after the kill");
    const failoverMs = Date.now() - killedAt;
    stop = true;
    await Promise.all(lanes);
    t.diagnostic(`partition 0 moved from N${victim.leader} to N${newLeader}; adds flowed again ${failoverMs} ms after the kill`);
    assert.ok(failoverMs < 10_000, `calls through the survivors succeeded again after ${failoverMs} ms`);

    // Every add retried with its key: answered ones return their first result, the others apply once.
    const sent = next;
    for (let i = 0; i < sent; i++) {
      const value = await add(i);
      assert.notEqual(value, null, `add-${i} after the failover`);
      if (answered.has(i)) assert.equal(value, answered.get(i), `add-${i} returns its first result`);
    }
    const total = await callJson(ingressOf(survivors[0]), `/Counter/${key}/add`, 0);
    assert.equal(await total.json(), sent, "each distinct add applied exactly once");
  });

  it("the killed node comes back as a follower: leadership does not move back, and its ingress serves again", async () => {
    const placed = await table();
    const down = [...nodes].find(([, p]) => !p.running());
    assert.ok(down, "one node is down from the previous test");
    const [name] = down;
    const again = await startNode(name);
    await eventually(async () => (await callJson(ingressOf(again), `/Counter/${keyIn(0, "back")}/add`, 1)).status === 200, 30_000, `${name} serving again`);
    // Well past the controller's hold-back: still no leadership change anywhere.
    await sleep(3_000);
    const now = await table();
    assert.deepEqual(
      now.partitions.map((p) => [p.leader, p.leaderEpoch]),
      placed.partitions.map((p) => [p.leader, p.leaderEpoch]),
      "a healthy leader is never moved",
    );
    const mine = now.partitions.filter((p) => p.followers.includes(again.nodeId as never));
    assert.ok(mine.length > 0, `${name} is a follower of some partition again`);
  });
});
