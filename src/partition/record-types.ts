// The commands a partition's log carries, as TypeScript types. Their bytes on the log (version,
// checksum, msgpack body) and the checks a decoder makes are in record-codec.ts; records.ts is the
// one module other layers import.
import type { InvocationId, LeaderEpoch } from "../types/ids.ts";
import type {
  ResponseVia,
  AwaitingOn,
  Header,
  InvocationResult,
  InvocationTarget,
  InvocationTraceContext,
  PinnedDeployment,
  ResponseSink,
  SignalId,
  SignalResult,
} from "../types/invocation.ts";

/**
 * Every record carries the proposer's wall-clock time. Apply code takes all timestamps from here,
 * so a replica or a replay derives exactly the same rows.
 */
export interface RecordHeader {
  /** Milliseconds since the Unix epoch, read once by the proposer. */
  readonly ts: number;
  /** Leader epoch of the proposer for leader-only records (invoker effects, timers, outbox). */
  readonly epoch?: LeaderEpoch;
}

export interface InvokeRequest {
  readonly id: InvocationId;
  readonly target: InvocationTarget;
  readonly argument: Uint8Array;
  readonly headers: readonly Header[];
  readonly responseSink?: ResponseSink;
  readonly idempotencyKey?: string;
  readonly invokedBy?: InvocationId;
  /** When set and in the future (compared with the record's ts), the invocation is delayed. */
  readonly executionTime?: number;
  /** Decimal u64 seed for the SDK's deterministic RNG. */
  readonly randomSeed: string;
  readonly completionRetentionMs?: number;
  /** Set when the journal goes before the status; capped at the completion retention. */
  readonly journalRetentionMs?: number;
  readonly traceContext?: InvocationTraceContext;
}

/**
 * What the proposer resolved for the callee of a Call / OneWayCall command: the callee's id (derived
 * for a workflow run or an idempotency key, as the ingress derives it, so a duplicate names the
 * same invocation; fresh otherwise), a seed, the target's type and retention from the schema, or
 * why the target cannot be called.
 */
export type CalleeAssignment =
  | {
      readonly invocationId: InvocationId;
      readonly randomSeed: string;
      readonly target: Omit<InvocationTarget, "key">;
      readonly completionRetentionMs?: number;
      readonly journalRetentionMs?: number;
      /** The callee's trace context: a child of the calling attempt's span. */
      readonly traceContext?: InvocationTraceContext;
    }
  | { readonly error: { readonly code: number; readonly message: string } };

/** What an invocation attempt proposes, one per message from its deployment. */
export type AttemptCommand =
  /** A command message the SDK sent, in SDK order: `commandIndex` must equal the stored command count. */
  | {
      readonly t: "journal-command";
      readonly id: InvocationId;
      readonly commandIndex: number;
      readonly msgType: number;
      readonly payload: Uint8Array;
      readonly callee?: CalleeAssignment;
      /** On the first command of an invocation's first attempt: the deployment the attempt runs on. */
      readonly pin?: PinnedDeployment;
    }
  | { readonly t: "run-completion"; readonly id: InvocationId; readonly completionId: number; readonly result: InvocationResult }
  | { readonly t: "suspend"; readonly id: InvocationId; readonly commandCount: number; readonly awaiting: AwaitingOn }
  | { readonly t: "end"; readonly id: InvocationId; readonly commandCount: number }
  /**
   * The deployment of an invocation's first attempt, as a record of its own when that attempt fails
   * or proposes something else before its first journal-command (which otherwise carries the pin).
   */
  | ({ readonly t: "pin-deployment"; readonly id: InvocationId } & PinnedDeployment);

export type Command =
  | { readonly t: "announce-leader"; readonly epoch: LeaderEpoch; readonly nodeId: number }
  | { readonly t: "invoke"; readonly request: InvokeRequest }
  | AttemptCommand
  /**
   * What an invocation attempt proposed for the messages of one read from its deployment (typically
   * the last commands and the end), applied in order as one record: each record
   * costs its framing, checksum, decoding and shape check, its apply and its place in every copy of
   * the log, so a record per message multiplied that.
   */
  | { readonly t: "attempt-steps"; readonly steps: readonly AttemptCommand[] }
  /** The invocation failed terminally outside the journal (e.g. retries exhausted, unknown service). */
  | { readonly t: "fail"; readonly id: InvocationId; readonly code: number; readonly message: string }
  | InvocationResponse
  /**
   * The leader's timer `key`, due at `fireAt`, is up. A key names what a timer is for, so the same
   * key comes back when an invocation id is reused (purged, then invoked again); `fireAt` tells
   * that timer from one the leader still held for the id's earlier use. Records written before
   * `fireAt` was added fire whatever timer has the key.
   */
  | { readonly t: "timer-fired"; readonly key: string; readonly fireAt?: number }
  | { readonly t: "outbox-shipped"; readonly seq: number }
  | SignalCommand
  | AttachCommand
  /** Operator requests through the admin API. */
  | { readonly t: "cancel"; readonly id: InvocationId }
  | KillCommand
  | { readonly t: "purge"; readonly id: InvocationId }
  /** Drop a completed invocation's journal now, keeping its status and result. */
  | { readonly t: "purge-journal"; readonly id: InvocationId }
  /** Replace the whole state of an object or workflow key with `state` (the admin API's state edit), if it still has `version` when set. */
  | { readonly t: "patch-state"; readonly service: string; readonly key: string; readonly state: readonly StateEntry[]; readonly version?: string }
  /** Stop retrying and wait for a resume: from the operator, or from the invoker (retries used up, SDK asked to pause). */
  | { readonly t: "pause"; readonly id: InvocationId }
  /**
   * Run a paused or suspended invocation again, on `deploymentId` when set (the proposer checked it
   * speaks the pinned protocol version); a backing-off one retries now.
   */
  | { readonly t: "resume"; readonly id: InvocationId; readonly deploymentId?: string }
  /**
   * A new invocation `newId` of a completed one's target and input, with its journal copied up to
   * entry `from` (included) plus the completions of the commands copied, pinned to the old one's
   * deployment or to `deploymentId`. The proposer chose `newId` and `randomSeed` (the old seed when
   * `from` > 0, so the copied prefix replays the same).
   */
  | {
      readonly t: "restart-as-new";
      readonly id: InvocationId;
      readonly newId: InvocationId;
      readonly from: number;
      readonly randomSeed: string;
      readonly deploymentId?: string;
      /** The new invocation's trace: a new one, chosen by the proposer. */
      readonly traceContext?: InvocationTraceContext;
    };

/** One key/value of a virtual object's or workflow's state. */
export interface StateEntry {
  readonly key: string;
  readonly value: Uint8Array;
}

/** Ends the invocation now; a killed invocation kills the invocations it called too. */
export type KillCommand = { readonly t: "kill"; readonly id: InvocationId };

/** The result of `target`'s call (or attach / output request), for its journal at `completionId`. */
export type InvocationResponse = {
  readonly t: "invocation-response";
  readonly target: InvocationId;
  readonly completionId: number;
  readonly result: InvocationResult;
  readonly via?: ResponseVia;
  /** Set for answers to GetInvocationOutput: the target had no result yet. */
  readonly notReady?: boolean;
};

/** A signal (awakeable completion, cancellation, named signal) for an invocation. */
export type SignalCommand = { readonly t: "signal"; readonly target: InvocationId; readonly signal: SignalId; readonly result: SignalResult };

/**
 * Another invocation wants `target`'s result: "attach" waits for it, "output" answers right away
 * (with "not ready" while the target still runs).
 */
export type AttachCommand = {
  readonly t: "attach";
  readonly target: InvocationId;
  readonly caller: InvocationId;
  readonly completionId: number;
  readonly via: "attach" | "output";
};

export interface Envelope {
  readonly header: RecordHeader;
  readonly command: Command;
}

/** Messages a partition's leader ships to some partition's log (possibly its own) via the outbox. */
export type OutboxMessage =
  | { readonly t: "invoke"; readonly request: InvokeRequest }
  | InvocationResponse
  | SignalCommand
  | AttachCommand
  | KillCommand;

/** The invocation an outbox message must reach; its partition's log is where it is appended. */
export function outboxDestination(m: OutboxMessage): InvocationId {
  switch (m.t) {
    case "invoke":
      return m.request.id;
    case "kill":
      return m.id;
    default:
      return m.target;
  }
}
