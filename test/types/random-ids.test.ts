import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { randomIdBytes, randomIdHex, randomU64 } from "../../src/types/random-ids.ts";

describe("random ids from the pool", () => {
  it("hands out each byte once, across refills of the pool", () => {
    // 3000 draws of 16 bytes are about twelve refills of the 4 KiB pool.
    const seen = new Set(Array.from({ length: 3000 }, () => randomIdHex(16)));
    assert.equal(seen.size, 3000);
    for (const hex of seen) assert.match(hex, /^[0-9a-f]{32}$/);
  });

  it("gives buffers of their own, which a later draw does not change", () => {
    const first = randomIdBytes(16);
    const copy = Buffer.from(first);
    for (let i = 0; i < 600; i++) randomIdBytes(16);
    assert.equal(first.length, 16);
    assert.deepEqual(first, copy);
  });

  it("gives u64s over the whole range", () => {
    const values = Array.from({ length: 2000 }, () => randomU64());
    assert.equal(new Set(values).size, 2000);
    assert.ok(values.every((v) => v >= 0n && v < 2n ** 64n));
    // About half of them have the top bit set; none would if the bytes were read as a signed or shorter integer.
    const high = values.filter((v) => v >= 2n ** 63n).length;
    assert.ok(high > 800 && high < 1200, `${high} of 2000 have the top bit set`);
  });

  it("refuses sizes outside the pool", () => {
    assert.throws(() => randomIdBytes(0), RangeError);
    assert.throws(() => randomIdHex(4097), RangeError);
  });
});
