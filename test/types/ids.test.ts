import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  IdParseError,
  PartitionKey,
  invocationIdFromBytes,
  invocationIdToBytes,
  newInvocationId,
  parseInvocationId,
  partitionKeyOf,
} from "../../src/types/ids.ts";

describe("invocation ids", () => {
  it("round-trips text and the 24-byte form sent to SDKs, keeping the partition key", () => {
    for (const pk of [0n, 1n, 12345678901234567890n, (1n << 64n) - 1n]) {
      const id = newInvocationId(PartitionKey(pk));
      assert.match(id, /^inv_1[0-9a-zA-Z]{33}$/);
      assert.equal(partitionKeyOf(id), pk);
      const bytes = invocationIdToBytes(id);
      assert.equal(bytes.length, 24);
      assert.equal(invocationIdFromBytes(bytes), id);
      assert.equal(parseInvocationId(id), id);
    }
  });

  it("rejects malformed ids with a typed error", () => {
    for (const bad of ["", "inv_", "inv_1abc", "dp_1" + "0".repeat(33), "inv_1" + "!".repeat(33), "inv_1" + "z".repeat(33)]) {
      assert.throws(() => parseInvocationId(bad), IdParseError, bad);
    }
  });
});
