import type { DeploymentSchema, HandlerSchema, SchemaView, ServiceSchema } from "../schema/schema.ts";
import type { ReadTxn } from "../storage/partition-store.ts";
import type { InvocationId } from "../types/ids.ts";
import type { AttemptSnapshot } from "./invocation-attempt.ts";

/** Everything one attempt starts from, read in one transaction. */
export interface AttemptPlan {
  readonly kind: "run";
  readonly snapshot: AttemptSnapshot;
  readonly deployment: DeploymentSchema;
  readonly protocolVersion: number;
  /** The invocation is not pinned yet: this attempt pins it to `deployment`. */
  readonly pin: boolean;
  /** The revision of the invoked service the deployment serves, and its handler. */
  readonly service?: ServiceSchema;
  readonly handler?: HandlerSchema;
}

export type AttemptDecision =
  | AttemptPlan
  /** Nothing to run: the invocation is gone or no longer running. */
  | { readonly kind: "gone" }
  /** It cannot run now; the reason is what the retry reports. */
  | { readonly kind: "unavailable"; readonly reason: string };

/**
 * Reads what an attempt needs: the invocation, its journal, the deployment it runs on (its pinned
 * one, else the one serving the service's active revision) and the eager state. State is sent in
 * key order up to `eagerStateLimitBytes` (keys and values); what does not fit, or all of it for a
 * handler with lazy state, the SDK reads on demand.
 */
export function planAttempt(tx: ReadTxn, id: InvocationId, schema: SchemaView, eagerStateLimitBytes: number): AttemptDecision {
  const status = tx.getInvocation(id);
  if (!status || status.status !== "invoked") return { kind: "gone" };
  const { target } = status;
  const pinned = status.pinnedDeployment;
  let deployment: DeploymentSchema | undefined;
  if (pinned) {
    deployment = schema.deployment(pinned.deploymentId);
    if (!deployment) {
      return { kind: "unavailable", reason: `invocation is pinned to deployment ${pinned.deploymentId}, which is no longer registered; register it again or resume the invocation on another deployment` };
    }
  } else {
    deployment = schema.deploymentForService(target.service);
    if (!deployment) return { kind: "unavailable", reason: `no deployment registered for service '${target.service}'` };
  }
  const service = schema.serviceOf(deployment.id, target.service) ?? schema.service(target.service);
  const handler = service?.handlers.find((h) => h.name === target.handler);
  const lazy = handler?.enableLazyState ?? service?.enableLazyState ?? false;
  const keyed = target.serviceType !== "SERVICE";
  const { state, partialState } = keyed && !lazy ? eagerState(tx.getState(target.service, target.key ?? ""), eagerStateLimitBytes) : { state: null, partialState: true };
  return {
    kind: "run",
    snapshot: { status, journal: tx.getJournal(id), state, partialState },
    deployment,
    protocolVersion: pinned?.protocolVersion ?? deployment.protocolVersion,
    pin: pinned === undefined,
    ...(service ? { service } : {}),
    ...(handler ? { handler } : {}),
  };
}

/** Entries in key order while they fit in `limit` bytes; `partialState` when some were left out. */
function eagerState(all: ReadonlyMap<string, Uint8Array>, limit: number): { state: Map<string, Uint8Array>; partialState: boolean } {
  const state = new Map<string, Uint8Array>();
  let size = 0;
  for (const key of [...all.keys()].sort()) {
    const value = all.get(key)!;
    size += Buffer.byteLength(key, "utf8") + value.length;
    if (size > limit) return { state, partialState: true };
    state.set(key, value);
  }
  return { state, partialState: false };
}
