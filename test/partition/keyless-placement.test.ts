import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PartitionDispatcher, type RemoteLeaders } from "../../src/partition/dispatcher.ts";
import type { PartitionProcessor } from "../../src/partition/processor.ts";
import { invocationIdFor, PartitionRouter } from "../../src/partition/routing.ts";
import { PartitionId } from "../../src/types/ids.ts";
import type { InvocationTarget } from "../../src/types/invocation.ts";

const remote: RemoteLeaders = {
  leaderOf: () => 2,
  replicasOf: () => [1, 2],
  propose: async () => undefined,
  read: async () => null,
  relayResult: () => undefined,
};

/** This node's replicas, `led` of them leading. */
function replicas(all: number[], led: number[]): Map<PartitionId, PartitionProcessor> {
  return new Map(all.map((p) => [PartitionId(p), { isLeader: led.includes(p) } as unknown as PartitionProcessor]));
}

describe("keyless invocations in a cluster", () => {
  const router = new PartitionRouter(6);
  const target: InvocationTarget = { service: "Greeter", handler: "greet", serviceType: "SERVICE", handlerType: "SHARED" };

  it("go to partitions this node leads, spread over all of them", () => {
    const dispatcher = new PartitionDispatcher(1, router, replicas([0, 2, 3, 5], [2, 5]), { remote });
    const seen = new Map<number, number>();
    for (let i = 0; i < 400; i++) {
      const p = router.partitionOf(invocationIdFor(target, undefined, () => dispatcher.keylessPartitionKey()));
      seen.set(p, (seen.get(p) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), [2, 5]);
    assert.ok(Math.min(...seen.values()) > 100, `both led partitions get a share: ${JSON.stringify([...seen])}`);
  });

  it("go to any partition on a node that leads none, and keyed or idempotent ones keep their own partition", () => {
    const dispatcher = new PartitionDispatcher(1, router, replicas([0, 2], []), { remote });
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(router.partitionOf(invocationIdFor(target, undefined, () => dispatcher.keylessPartitionKey())));
    assert.equal(seen.size, 6);

    const leading = new PartitionDispatcher(1, router, replicas([0, 2], [0]), { remote });
    const keyless = () => leading.keylessPartitionKey();
    const object: InvocationTarget = { service: "Counter", handler: "add", serviceType: "VIRTUAL_OBJECT", handlerType: "EXCLUSIVE", key: "k-17" };
    assert.equal(invocationIdFor(object, undefined, keyless).slice(0, 16), invocationIdFor(object, undefined).slice(0, 16));
    assert.equal(invocationIdFor(target, "idem-1", keyless), invocationIdFor(target, "idem-1"));
  });
});
