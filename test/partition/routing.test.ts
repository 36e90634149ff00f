import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PartitionKey, PartitionId } from "../../src/types/ids.ts";
import { PartitionRouter, partitionKeyForKey } from "../../src/partition/routing.ts";

describe("partition routing", () => {
  it("splits the u64 key space into contiguous ranges that agree with partitionOfKey", () => {
    for (const n of [1, 2, 3, 7, 24]) {
      const router = new PartitionRouter(n);
      let expectedFrom = 0n;
      for (const p of router.partitions) {
        const { from, to } = router.keyRange(p);
        assert.equal(from, expectedFrom, `partition ${p} of ${n} starts where the previous ended`);
        assert.equal(router.partitionOfKey(PartitionKey(from)), p);
        assert.equal(router.partitionOfKey(PartitionKey(to)), p);
        expectedFrom = to + 1n;
      }
      assert.equal(expectedFrom, 1n << 64n);
    }
  });

  it("routes the same object key to the same partition and spreads keys out", () => {
    const router = new PartitionRouter(4);
    assert.equal(partitionKeyForKey("Counter", "a"), partitionKeyForKey("Counter", "a"));
    assert.notEqual(partitionKeyForKey("Counter", "a"), partitionKeyForKey("Other", "a"));
    const used = new Set(Array.from({ length: 200 }, (_, i) => router.partitionOfKey(partitionKeyForKey("C", `k${i}`))));
    assert.deepEqual([...used].sort(), [0, 1, 2, 3].map(PartitionId));
  });

  it("refuses a nonsensical partition count", () => {
    assert.throws(() => new PartitionRouter(0), RangeError);
    assert.throws(() => new PartitionRouter(1.5), RangeError);
  });
});
