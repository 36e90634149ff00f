import { createHash } from "node:crypto";
import type { StateEntry } from "./record-types.ts";

/**
 * The version of a key's state as Restate computes it for conditional edits (`version` of
 * `POST /services/{name}/state`): SHA-256 over the entries sorted by key, each as its position
 * (u64 big-endian), 0x01, key, 0x02, value, 0x03; base64url without padding. A hash is a pure
 * function of the state, so apply code may compare with it.
 */
export function stateVersion(entries: readonly StateEntry[]): string {
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const hash = createHash("sha256");
  sorted.forEach((e, i) => {
    const index = Buffer.alloc(8);
    index.writeBigUInt64BE(BigInt(i));
    hash.update(index).update(Buffer.of(1)).update(e.key).update(Buffer.of(2)).update(e.value).update(Buffer.of(3));
  });
  return hash.digest("base64url");
}
