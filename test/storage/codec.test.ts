import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type Database from "better-sqlite3";
import { NOT_MODELLED, pack, roundTripFrozen, unpackBody } from "../../src/storage/tables/codec.ts";
import type { InvocationStatus } from "../../src/types/invocation.ts";
import { fileStore, invocation, invocationId } from "./fixtures.ts";

const db = { name: "codec test" } as Database.Database;
const decoded = (v: unknown): unknown => unpackBody(db, pack(v), "a generated value");

/** A small deterministic PRNG, so a failure names a value that can be generated again. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const NUMBERS = [0, -0, 1, -1, 127, 128, 255, 256, 65535, 65536, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, 2 ** 60, -(2 ** 60), 0.1, -2.5, 1e300, NaN, Infinity, -Infinity, Number.MIN_VALUE];
const STRINGS = ["", "a", "inv_17lqADIEdtBF0OZWq0E45gL33pZp1yFtbf", "é", "😀 emoji", "x".repeat(40), "ä".repeat(300), "1", "01", "constructor", "toString"];

function generate(next: () => number, depth: number): unknown {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const kind = Math.floor(next() * (depth > 0 ? 10 : 7));
  switch (kind) {
    case 0:
      return pick(NUMBERS);
    case 1:
      return pick(STRINGS);
    case 2:
      return pick([true, false, null, undefined]);
    case 3:
      return Buffer.from(pick(STRINGS));
    case 4:
      return new Uint8Array(Array.from({ length: Math.floor(next() * 5) }, () => Math.floor(next() * 256)));
    case 5:
      return Math.floor(next() * 2 ** 40) * (next() < 0.5 ? -1 : 1);
    case 6:
      return next() * 1000;
    case 7:
    case 8: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 6); i > 0; i--) o[pick(STRINGS)] = generate(next, depth - 1);
      return o;
    }
    default:
      return Array.from({ length: Math.floor(next() * 5) }, () => generate(next, depth - 1));
  }
}

function assertDeepFrozen(v: unknown, path: string): void {
  if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) return;
  assert.ok(Object.isFrozen(v), `${path} is frozen`);
  for (const [k, x] of Object.entries(v)) assertDeepFrozen(x, `${path}.${k}`);
}

describe("roundTripFrozen: what a status decoded from its body would be, without encoding it", () => {
  it("equals unpack(pack(v)) for 5,000 generated values, and freezes every object and array", () => {
    const next = prng(20261201);
    for (let i = 0; i < 5000; i++) {
      const v = generate(next, 4);
      const copy = roundTripFrozen(v);
      assert.notEqual(copy, NOT_MODELLED, `value ${i} is modelled`);
      assert.deepStrictEqual(copy, decoded(v), `value ${i}`);
      assertDeepFrozen(copy, `value ${i}`);
    }
  });

  it("copies bytes into Buffers of their own and turns -0 into 0", () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const copy = roundTripFrozen({ value: bytes, at: -0 }) as { value: Buffer; at: number };
    assert.ok(Buffer.isBuffer(copy.value));
    bytes[0] = 9;
    assert.deepEqual([...copy.value], [1, 2, 3], "the copy does not share the caller's bytes");
    assert.ok(Object.is(copy.at, 0));
  });

  it("answers NOT_MODELLED for what only the real round trip can tell", () => {
    class Point {
      x = 1;
    }
    for (const v of ["lone \ud800 surrogate", 10n, new Date(5), new Map([[1, 2]]), new Point(), new Float32Array([1]), JSON.parse('{"__proto__": 1}'), () => 1, Symbol("s")]) {
      assert.equal(roundTripFrozen({ nested: [v] }), NOT_MODELLED, String(typeof v === "symbol" ? "symbol" : v));
    }
  });

  it("a status the copy cannot model still reads back, in its own write, as its decoded body", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    const put: InvocationStatus = { ...invocation(id, "invoked"), idempotencyKey: "key \ud800" };
    const inWrite = store.write((tx) => {
      tx.putInvocation(put);
      return tx.getInvocation(id);
    });
    assert.notEqual(inWrite?.idempotencyKey, put.idempotencyKey, "msgpack's UTF-8 does not keep a lone surrogate");
    assert.equal(inWrite?.idempotencyKey, decoded(put.idempotencyKey), "what a decode of the body gives");
    assert.deepEqual(inWrite, store.read((tx) => tx.getInvocation(id)));
  });
});
