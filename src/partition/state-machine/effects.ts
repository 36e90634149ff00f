import type { OutboxEntry, TimerEntry } from "../../storage/partition-store.ts";
import type { InvocationId, LeaderEpoch } from "../../types/ids.ts";
import type { InvocationResult, JournalEntry } from "../../types/invocation.ts";

/**
 * What the leader must do after a batch is applied. Followers compute and drop them, so effects
 * never influence the store: they only talk to the outside world.
 */
export type Effect =
  | { readonly t: "leader"; readonly epoch: LeaderEpoch; readonly nodeId: number }
  /** Start (or restart after suspension) an invocation attempt. */
  | { readonly t: "invoke"; readonly id: InvocationId }
  /** A notification was journaled; forward it to a live attempt. `runAck` marks a stored run result. */
  | { readonly t: "notification"; readonly id: InvocationId; readonly entry: JournalEntry; readonly runAck?: number }
  /** The invocation has a result, or one ingress request got its own answer: wake waiters on this node. */
  | ({ readonly t: "result" } & AppliedResult)
  | { readonly t: "timer"; readonly timer: TimerEntry }
  | { readonly t: "outbox"; readonly entry: OutboxEntry }
  /** Any live attempt for this invocation is obsolete (completed or killed). */
  | { readonly t: "abort"; readonly id: InvocationId };

/** A result for the ingress waiters of `id` on a node: all of them, or only the request `requestId` names. */
export interface AppliedResult {
  readonly id: InvocationId;
  readonly result: InvocationResult;
  readonly requestId?: string;
  /** The request was refused (a second run of a workflow); `result` is not the invocation's outcome. */
  readonly refused?: true;
}
