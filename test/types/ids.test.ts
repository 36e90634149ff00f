import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  IdParseError,
  PartitionKey,
  base62Decode,
  base62EncodeFixed,
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

  it("writes and reads base62 as the digit-by-digit definition does, across every place a digit can land", () => {
    const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const byDefinition = (value: bigint, width: number): string => {
      let out = "";
      for (let v = value; v > 0n; v /= 62n) out = alphabet[Number(v % 62n)] + out;
      return out.padStart(width, "0");
    };
    const values = [0n, 1n, 61n, 62n, (1n << 64n) - 1n, (1n << 128n) - 1n];
    // Every power of 62 and its neighbours up to 22 digits, where one digit ends and the next begins.
    for (let k = 1n; k <= 22n; k++) values.push(62n ** k - 1n, 62n ** k, 62n ** k + 1n);
    for (let i = 1; i <= 64; i++) values.push(BigInt(`0x${Buffer.from(Array.from({ length: 1 + (i % 16) }, (_, j) => (i * 37 + j * 101) & 0xff)).toString("hex")}`));
    for (const value of values) {
      for (const width of [11, 22]) {
        const text = base62EncodeFixed(value, width);
        assert.equal(text, byDefinition(value, width), `${value} in ${width}`);
        assert.equal(base62Decode(text), value, text);
      }
    }
    for (const bad of ["-", "ab_c", "é", "0".repeat(20) + " "]) assert.throws(() => base62Decode(bad), /invalid base62 character/, bad);
  });
});
