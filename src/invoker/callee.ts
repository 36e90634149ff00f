import type { CalleeAssignment } from "../partition/records.ts";
import { invocationIdFor, randomSeed } from "../partition/routing.ts";
import { invocationRetention, type RetentionDefaults } from "../schema/retention.ts";
import type { SchemaView } from "../schema/schema.ts";
import { RepriseError } from "../types/errors.ts";

/** What a Call or OneWayCall command names as its callee (the fields both messages share). */
export interface CalleeRequest {
  readonly serviceName: string;
  readonly handlerName: string;
  /** Empty for a plain service. */
  readonly key: string;
  readonly idempotencyKey?: string;
}

/** Restate's precondition text for an empty idempotency key on a call. */
const EMPTY_IDEMPOTENCY_KEY = { code: 400, message: "the idempotency key provided in the request is empty" };

/**
 * Chooses the callee of a call from a handler, on the leader, for the log record that journals
 * the call: the id is the one the ingress would give the same request (derived for workflow runs
 * and idempotency keys, so duplicates name one invocation), the seed is fresh, the retention is the
 * target's, else the node's `defaults` (without them, the partition's). A target the schema does
 * not know becomes the call's failure.
 */
export function assignCallee(schema: SchemaView, call: CalleeRequest, defaults?: RetentionDefaults): CalleeAssignment {
  if (call.idempotencyKey === "") return { error: EMPTY_IDEMPOTENCY_KEY };
  let resolved: ReturnType<SchemaView["resolveTarget"]>;
  try {
    resolved = schema.resolveTarget(call.serviceName, call.handlerName);
  } catch (e) {
    if (e instanceof RepriseError) return { error: { code: e.httpStatus, message: e.message } };
    throw e;
  }
  const { target, handler } = resolved;
  const keyed = target.serviceType !== "SERVICE" ? { key: call.key } : {};
  return {
    invocationId: invocationIdFor({ ...target, ...keyed }, call.idempotencyKey),
    randomSeed: randomSeed(),
    target,
    ...invocationRetention(handler, call.idempotencyKey !== undefined, defaults),
  };
}
