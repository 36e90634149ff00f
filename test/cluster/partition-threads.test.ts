import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { loadConfig } from "../../src/cluster/config.ts";
import type { Node } from "../../src/cluster/node.ts";
import { partitionThreadCount } from "../../src/cluster/partition-thread/partition-threads.ts";
import { ThreadedReplica } from "../../src/cluster/partition-thread/threaded-replica.ts";
import { PartitionProcessor } from "../../src/partition/processor.ts";
import { partitionKeyForKey, PartitionRouter } from "../../src/partition/routing.ts";
import { counter } from "../support/example-services.ts";
import { callJson, eventually, registerDeployment, startInProcess, tempDir } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";

const PARTITIONS = 4;

/** Adds to another key's counter through a call: an outbox message to that key's partition. */
const relay = restate.object({
  name: "Relay",
  handlers: {
    addTo: async (ctx: restate.ObjectContext, req: { key: string; n: number }) => ctx.objectClient(counter, req.key).add(req.n),
  },
});

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Holds each run of `pass` until the test opens the gate: a call that is running while its partition thread exits. */
let gate = signal();
let entered = signal();
const held = restate.object({
  name: "Held",
  handlers: {
    pass: async (_ctx: restate.ObjectContext, n: number) => {
      entered.resolve();
      await gate.promise;
      return n * 2;
    },
  },
});

/** A key of `service` on each partition, found by routing. */
function keyOnEachPartition(service: string): string[] {
  const router = new PartitionRouter(PARTITIONS);
  const keys = new Map<number, string>();
  for (let i = 0; keys.size < PARTITIONS && i < 10_000; i++) {
    const key = `k${i}`;
    const partition = router.partitionOfKey(partitionKeyForKey(service, key));
    if (!keys.has(partition)) keys.set(partition, key);
  }
  return [...keys.entries()].sort((a, b) => a[0] - b[0]).map(([, key]) => key);
}

describe("partition threads", () => {
  it("how many: as configured, one per core but one, the main thread alone on 2 cores or fewer, never more than partitions", () => {
    assert.equal(partitionThreadCount(0, 4, 2), 1);
    assert.equal(partitionThreadCount(0, 4, 1), 1);
    assert.equal(partitionThreadCount(0, 4, 3), 2);
    assert.equal(partitionThreadCount(0, 4, 8), 4);
    assert.equal(partitionThreadCount(0, 24, 8), 7);
    assert.equal(partitionThreadCount(3, 2, 8), 2);
    assert.equal(partitionThreadCount(1, 4, 32), 1);
  });

  it("a bad thread count is refused, naming the setting", () => {
    assert.throws(() => loadConfig({ overrides: { worker: { threads: -1 } } }), /worker\.threads must be an integer 0\.\.1024 \(0: one per core\), got -1/);
    assert.throws(() => loadConfig({ env: { REPRISE_WORKER__THREADS: "two" } }), /worker/);
  });

  describe("a node whose partitions run on threads", () => {
    const dir = tempDir();
    let sdk: SdkEndpoint;
    let node: Node;
    const ingress = () => `http://127.0.0.1:${node.ingressPort}`;
    const start = () => startInProcess(dir.path, { partitions: PARTITIONS, worker: { threads: 2 } });

    before(async () => {
      sdk = await startSdkEndpoint([counter, relay, held]);
      node = await start();
      assert.equal((await registerDeployment(`http://127.0.0.1:${node.adminPort}`, sdk.url)).status, 201);
    });
    after(async () => {
      await node?.stop();
      await sdk?.close();
      dir.remove();
    });

    it("runs every partition off the main thread, whose view of a replica only reads its store", () => {
      assert.equal(node.processors.size, PARTITIONS);
      for (const replica of node.processors.values()) {
        assert.ok(replica instanceof ThreadedReplica, `partition ${replica.partitionId} runs on a partition thread`);
        assert.ok(!(replica instanceof PartitionProcessor));
        assert.equal("write" in replica.store, false, "the main thread cannot write a partition thread's store");
        assert.equal(replica.isLeader, true);
        assert.ok(replica.appliedLsn > 0, "the leader's announcement is applied");
      }
      assert.equal(node.localProcessors.size, 0);
    });

    it("serves calls on every partition, and calls from one partition thread's partition to another's", async () => {
      const keys = keyOnEachPartition("Counter");
      assert.equal(keys.length, PARTITIONS);
      for (const key of keys) assert.equal(await (await callJson(ingress(), `/Counter/${key}/add`, 2)).json(), 2);
      // Relay on each partition adds to the counter of the next partition's key: every call crosses partitions, half of them threads.
      const relays = keyOnEachPartition("Relay");
      for (const [i, key] of relays.entries()) {
        const res = await callJson(ingress(), `/Relay/${key}/addTo`, { key: keys[(i + 1) % PARTITIONS], n: 3 });
        assert.equal(res.status, 200, await res.clone().text());
        assert.equal(await res.json(), 5);
      }
      // What the main thread reads from the threads' stores agrees.
      const q = await fetch(`http://127.0.0.1:${node.adminPort}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: "SELECT service_key, value_utf8 FROM state WHERE service_name = 'Counter' ORDER BY service_key" }),
      });
      assert.equal(q.status, 200);
      const rows = ((await q.json()) as { rows: { service_key: string; value_utf8: string }[] }).rows;
      assert.deepEqual(
        rows.map((r) => [r.service_key, r.value_utf8]),
        [...keys].sort().map((k) => [k, "5"]),
      );
    });

    it("restarts a partition thread that exits, whose partitions then serve again from their stores and logs", async () => {
      const threads = node.partitionThreads!;
      const keys = keyOnEachPartition("Counter");
      const before = await Promise.all(keys.map(async (key) => (await (await callJson(ingress(), `/Counter/${key}/add`, 0)).json()) as number));
      const [victim] = threads.workers();
      await victim!.terminate();
      // While it restarts a call may be refused as retryable (503), never lost or answered wrongly;
      // then every partition answers again, each counter where it was.
      await eventually(
        async () => {
          const answers = await Promise.all(keys.map((key) => callJson(ingress(), `/Counter/${key}/add`, 0)));
          for (const res of answers) if (res.status !== 200) assert.equal(res.status, 503, await res.text());
          return answers.every((res) => res.status === 200);
        },
        20_000,
        "every partition to answer after the restart",
      );
      const after = await Promise.all(keys.map(async (key) => (await (await callJson(ingress(), `/Counter/${key}/add`, 1)).json()) as number));
      assert.deepEqual(after, before.map((n) => n + 1));
      assert.equal(threads.workers().length, 2);
      for (const replica of node.processors.values()) assert.equal(replica.isLeader, true);
    });

    it("answers a call whose partition thread exits while it runs, once the restarted thread has run it", async () => {
      gate = signal();
      entered = signal();
      const threads = node.partitionThreads!;
      const call = fetch(`${ingress()}/Held/h/pass`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "21",
        signal: AbortSignal.timeout(30_000),
      });
      // Dispatched and running: the request waits for a result that the exiting thread never sends.
      await entered.promise;
      await Promise.all(threads.workers().map((w) => w.terminate()));
      gate.resolve();
      const res = await call;
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(await res.json(), 42);
    });

    it("keeps every store and log across a restart", async () => {
      const keys = keyOnEachPartition("Counter");
      await node.stop();
      node = await start();
      for (const key of keys) assert.equal(await (await callJson(ingress(), `/Counter/${key}/add`, 1)).json(), 7);
    });
  });
});
