import { randomFillSync } from "node:crypto";

/**
 * Random bits for ids (invocation ids, partition keys, seeds, trace and span ids), taken from a
 * pool that the system's CSPRNG refills 4 KiB at a time; each byte is handed out once.
 * crypto.randomBytes makes a buffer and runs a crypto job per call, about 3.4 us here, and an
 * invocation takes six to eight of them on the ingress and invoker paths; from the pool, 0.04 us.
 * The same source as randomBytes, as unpredictable; Node pools randomUUID's bytes alike.
 */
const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/** Where the next `n` unused bytes of the pool start, refilling it first if fewer are left. */
function take(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > POOL_BYTES) throw new RangeError(`random id bytes must be 1..${POOL_BYTES}, got ${n}`);
  if (used + n > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += n;
  return at;
}

/** `n` random bytes in a buffer of their own. */
export function randomIdBytes(n: number): Buffer {
  const at = take(n);
  return Buffer.from(pool.subarray(at, at + n));
}

/** `n` random bytes as lowercase hex. */
export function randomIdHex(n: number): string {
  const at = take(n);
  return pool.toString("hex", at, at + n);
}

/** A random unsigned 64-bit integer. */
export function randomU64(): bigint {
  return pool.readBigUInt64BE(take(8));
}
