import { test } from "node:test";
import assert from "node:assert/strict";
import { decidePlacement, replicasOf, type PlacementView, type PartitionSpec } from "../../src/cluster/placement.ts";
import type { NodeHealthState } from "../../src/cluster/failure-detector.ts";
import type { PartitionTable } from "../../src/metadata/documents.ts";
import { LeaderEpoch, LogId, Lsn, PartitionId, PlainNodeId } from "../../src/types/ids.ts";

const N = PlainNodeId;
const specs = (count: number): PartitionSpec[] =>
  Array.from({ length: count }, (_, i) => ({ partitionId: PartitionId(i), keyRange: { from: String(i), to: String(i) }, logId: LogId(i) }));

function view(overrides: Partial<PlacementView> & { states?: Record<number, NodeHealthState>; applied?: Record<string, number> } = {}): PlacementView {
  const states = overrides.states ?? {};
  const applied = overrides.applied ?? {};
  return {
    partitions: specs(3),
    workers: [N(1), N(2), N(3)],
    replicationFactor: 3,
    health: (n) => states[n] ?? "alive",
    heldBack: () => false,
    appliedLsn: (p, n) => (applied[`${p}@${n}`] === undefined ? undefined : Lsn(applied[`${p}@${n}`])),
    highestLogEpoch: () => undefined,
    ...overrides,
  };
}

function decided(table: PartitionTable | null, v: PlacementView): PartitionTable {
  const d = decidePlacement(table, v);
  assert.notEqual(d, "unchanged");
  return (d as { table: PartitionTable }).table;
}

test("initial placement: every partition on all three workers, leaders spread, epoch 1", () => {
  const table = decided(null, view());
  assert.deepEqual(table.partitions.map((p) => p.leader), [1, 2, 3]);
  for (const p of table.partitions) {
    assert.deepEqual(replicasOf(p).sort(), [1, 2, 3]);
    assert.equal(p.leaderEpoch, 1);
  }
  assert.equal(decidePlacement(table, view()), "unchanged");
});

test("replication factor caps the replica set; a single worker leads everything", () => {
  const one = decided(null, view({ workers: [N(1)] }));
  assert.deepEqual(one.partitions.map((p) => [p.leader, p.followers.length]), [[1, 0], [1, 0], [1, 0]]);
  const two = decided(null, view({ replicationFactor: 2 }));
  for (const p of two.partitions) assert.equal(replicasOf(p).length, 2);
});

test("a healthy or merely suspect leader is never moved", () => {
  const table = decided(null, view());
  assert.equal(decidePlacement(table, view({ states: { 1: "suspect" } })), "unchanged");
  // A follower that is ahead does not take over from a live leader either.
  assert.equal(decidePlacement(table, view({ applied: { "0@2": 100, "0@1": 1 } })), "unchanged");
});

test("a dead leader is replaced by the most caught-up alive replica, with a higher epoch", () => {
  const table = decided(null, view());
  const next = decided(table, view({ states: { 1: "dead" }, applied: { "0@2": 10, "0@3": 12 } }));
  const p0 = next.partitions[0];
  assert.equal(p0.leader, 3);
  assert.equal(p0.leaderEpoch, 2);
  assert.deepEqual(replicasOf(p0).sort(), [1, 2, 3], "the dead node keeps its replica and follows when it returns");
  // Partitions led by live nodes are untouched.
  assert.deepEqual(next.partitions.slice(1), table.partitions.slice(1));
});

test("the new epoch is above any epoch the log has announced", () => {
  const table = decided(null, view());
  const next = decided(table, view({ states: { 1: "dead" }, highestLogEpoch: () => LeaderEpoch(7) }));
  assert.equal(next.partitions[0].leaderEpoch, 8);
});

test("held-back and suspect replicas are not chosen; with none eligible the dead leader stays", () => {
  const table = decided(null, view());
  const next = decided(table, view({ states: { 1: "dead" }, heldBack: (n) => n === 2, applied: { "0@2": 99 } }));
  assert.equal(next.partitions[0].leader, 3);
  assert.equal(decidePlacement(table, view({ states: { 1: "dead", 2: "suspect", 3: "dead" } })), "unchanged");
});

test("a returning node stays follower: no leadership ping-pong", () => {
  const table = decided(null, view());
  const failedOver = decided(table, view({ states: { 1: "dead" } }));
  assert.equal(decidePlacement(failedOver, view()), "unchanged");
});

test("a worker that joins later fills a replica set below the factor", () => {
  const two = decided(null, view({ workers: [N(1), N(2)] }));
  for (const p of two.partitions) assert.equal(replicasOf(p).length, 2);
  const three = decided(two, view());
  for (const [i, p] of three.partitions.entries()) {
    assert.deepEqual(replicasOf(p).sort(), [1, 2, 3]);
    assert.equal(p.leader, two.partitions[i].leader, "adding a replica does not move the leader");
  }
});
