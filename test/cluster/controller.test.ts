import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { ClusterController } from "../../src/cluster/controller.ts";
import { ControllerLease } from "../../src/cluster/controller-lease.ts";
import { Heartbeats } from "../../src/cluster/heartbeats.ts";
import { PARTITION_TABLE_CODEC } from "../../src/cluster/placement.ts";
import { METADATA_KEYS, type PartitionTable } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { NodeConnections } from "../../src/net/connections.ts";
import { PartitionRouter } from "../../src/partition/routing.ts";
import { PlainNodeId } from "../../src/types/ids.ts";

const log = pino({ level: "silent" });
const N = PlainNodeId;
const members = [N(1), N(2), N(3)];

/** A controller on node 1 with a clock the test moves; heartbeats are fed by hand, never sent. */
async function setUp(opts: { workers?: () => readonly PlainNodeId[]; partitions?: number } = {}) {
  let t = 1_000_000;
  const now = () => t;
  const metadata = new InMemoryMetadataStore();
  const me = { id: N(1), generation: 1 };
  const heartbeats = new Heartbeats({ me, connections: new NodeConnections(() => "127.0.0.1:1"), peers: () => members, localReplicas: () => [], logger: log });
  heartbeats.detector.track([N(2), N(3)], t);
  const lease = new ControllerLease(metadata, me, log, { renewMs: 500, takeoverAfterMs: 5_000 }, now);
  await lease.tick();
  const controller = new ClusterController({
    me: N(1),
    metadata,
    lease,
    heartbeats,
    router: new PartitionRouter(opts.partitions ?? 2),
    workers: opts.workers ?? (() => members),
    members: () => members,
    replicationFactor: 3,
    logger: log,
    now,
  });
  const table = async (): Promise<PartitionTable> => PARTITION_TABLE_CODEC.decode((await metadata.get(METADATA_KEYS.partitionTable))!.value);
  /** Advances the clock; the given nodes answered heartbeats all along. */
  const advance = async (ms: number, answering: number[]) => {
    for (let step = 0; step < ms; step += 500) {
      t += 500;
      for (const n of answering) heartbeats.detector.heard(N(n), t);
      await lease.tick();
      await controller.tick();
    }
  };
  return { table, advance, metadata };
}

test("places every partition once the cluster is seen, with leaders spread", async () => {
  const { table, advance } = await setUp();
  await advance(2_500, [2, 3]);
  const placed = await table();
  assert.deepEqual(placed.partitions.map((p) => p.leader), [1, 2]);
  assert.ok(placed.partitions.every((p) => p.followers.length === 2));
});

test("waits to place a new cluster until the workers started with it have joined, so their leaders spread", async () => {
  const registered = [N(1)];
  const { table, advance, metadata } = await setUp({ workers: () => registered, partitions: 3 });
  await advance(1_500, []);
  // Nodes 2 and 3 register a moment after node 1; the table must not exist yet.
  registered.push(N(2), N(3));
  await advance(1_500, [2, 3]);
  assert.equal(await metadata.get(METADATA_KEYS.partitionTable), null, "placed before the joining workers settled");
  await advance(1_000, [2, 3]);
  assert.deepEqual((await table()).partitions.map((p) => p.leader), [1, 2, 3]);
});

test("places a new cluster with a registered worker that never answers, after the forming time", async () => {
  const { table, advance, metadata } = await setUp({ partitions: 3 });
  await advance(9_500, [2]);
  assert.equal(await metadata.get(METADATA_KEYS.partitionTable), null);
  await advance(1_000, [2]);
  assert.deepEqual((await table()).partitions.map((p) => p.leader), [1, 2, 1]);
});

test("a dead leader is replaced once the controller has seen a majority for the settle time, and not before", async () => {
  const { table, advance } = await setUp();
  await advance(5_000, [2, 3]);
  assert.equal((await table()).partitions[1].leader, 2);
  // Node 2 goes silent: dead after 3 s; the controller saw the majority (itself and 3) all along.
  await advance(2_500, [3]);
  assert.equal((await table()).partitions[1].leader, 2, "only suspect yet: not moved");
  await advance(1_500, [3]);
  const moved = (await table()).partitions[1];
  assert.equal(moved.leader, 3);
  assert.ok(moved.leaderEpoch! > 1);
});

test("a controller that was cut off itself does not trust the silences it saw: it waits for fresh heartbeats", async () => {
  const { table, advance } = await setUp();
  await advance(5_000, [2, 3]);
  const before = await table();
  // Node 1 is cut off: it hears nobody for 8 s and, seeing no majority, changes nothing.
  await advance(8_000, []);
  assert.deepEqual(await table(), before);
  // Healed: node 3 answers at once, node 2 only after 2 s (slow to reconnect). Node 2 was never dead.
  await advance(2_000, [3]);
  await advance(4_000, [2, 3]);
  assert.deepEqual((await table()).partitions.map((p) => [p.leader, p.leaderEpoch]), before.partitions.map((p) => [p.leader, p.leaderEpoch]));
});

test("without a majority alive the controller changes nothing", async () => {
  const { table, advance } = await setUp();
  await advance(5_000, [2, 3]);
  const before = await table();
  await advance(10_000, []);
  assert.deepEqual(await table(), before);
});
