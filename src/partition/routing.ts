import { createHash } from "node:crypto";
import { LogId, PartitionId, PartitionKey, newInvocationId, partitionKeyOf, type InvocationId } from "../types/ids.ts";
import type { InvocationTarget } from "../types/invocation.ts";
import { randomU64 } from "../types/random-ids.ts";

const U64_MAX = (1n << 64n) - 1n;

/** Partition key of a keyed target: a stable 64-bit hash of (service, key). */
export function partitionKeyForKey(service: string, key: string): PartitionKey {
  const digest = createHash("sha256").update(service).update("\0").update(key).digest();
  return PartitionKey(digest.readBigUInt64BE(0));
}

/**
 * The id of an invocation with an idempotency key is a function of (target, key), so every
 * duplicate request names the same invocation — the partition then runs it once.
 */
export function idempotentInvocationId(service: string, objectKey: string, handler: string, idempotencyKey: string): InvocationId {
  const pk = objectKey !== "" ? partitionKeyForKey(service, objectKey) : partitionKeyForKey(service, `\0idempotent\0${handler}\0${idempotencyKey}`);
  return newInvocationId(pk, digest16("idempotent", service, objectKey, handler, idempotencyKey));
}

/** A workflow's run handler executes once per workflow key: its id is derived from the key. */
export function workflowRunInvocationId(service: string, workflowKey: string): InvocationId {
  return newInvocationId(partitionKeyForKey(service, workflowKey), digest16("workflow", service, workflowKey));
}

/**
 * The id of a new request, from the ingress or from a handler's call: a workflow run's and an
 * idempotent request's are derived from what makes them the same request, any other is fresh (on
 * the key's partition for keyed targets, on a partition `keyless` picks otherwise).
 */
export function invocationIdFor(target: InvocationTarget, idempotencyKey: string | undefined, keyless: () => PartitionKey = randomPartitionKey): InvocationId {
  if (target.handlerType === "WORKFLOW") return workflowRunInvocationId(target.service, target.key ?? "");
  if (idempotencyKey !== undefined) return idempotentInvocationId(target.service, target.key ?? "", target.handler, idempotencyKey);
  return newInvocationId(target.key !== undefined ? partitionKeyForKey(target.service, target.key) : keyless());
}

function digest16(...parts: string[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest().subarray(0, 16);
}

export function randomPartitionKey(): PartitionKey {
  return PartitionKey(randomU64());
}

export function randomSeed(): string {
  return randomU64().toString();
}

/** Splits the u64 key space into `count` equal, contiguous ranges; partition i owns range i. */
export class PartitionRouter {
  constructor(readonly partitionCount: number) {
    if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > 4096) {
      throw new RangeError(`partition count must be an integer in 1..4096, got ${partitionCount}`);
    }
  }

  partitionOfKey(pk: PartitionKey): PartitionId {
    return PartitionId(Number((pk * BigInt(this.partitionCount)) / (U64_MAX + 1n)));
  }

  partitionOf(id: InvocationId): PartitionId {
    return this.partitionOfKey(partitionKeyOf(id));
  }

  /** One log per partition, as in Restate: the log id equals the partition id. */
  logOf(partition: PartitionId): LogId {
    return LogId(partition);
  }

  /** A random key of `partition`'s range. */
  randomKeyIn(partition: PartitionId): PartitionKey {
    const { from, to } = this.keyRange(partition);
    return PartitionKey(from + ((to - from + 1n) * randomU64()) / (U64_MAX + 1n));
  }

  keyRange(partition: PartitionId): { from: bigint; to: bigint } {
    const n = BigInt(this.partitionCount);
    const p = BigInt(partition);
    const from = (p * (U64_MAX + 1n) + n - 1n) / n;
    const to = ((p + 1n) * (U64_MAX + 1n) + n - 1n) / n - 1n;
    return { from, to };
  }

  get partitions(): PartitionId[] {
    return Array.from({ length: this.partitionCount }, (_, i) => PartitionId(i));
  }
}
