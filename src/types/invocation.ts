import type { InvocationId, LeaderEpoch } from "./ids.ts";

export type ServiceType = "SERVICE" | "VIRTUAL_OBJECT" | "WORKFLOW";
export type HandlerType = "EXCLUSIVE" | "SHARED" | "WORKFLOW";

export interface InvocationTarget {
  readonly service: string;
  readonly handler: string;
  /** Object or workflow key; absent for plain services. */
  readonly key?: string;
  readonly serviceType: ServiceType;
  readonly handlerType: HandlerType;
}

/** Whether this invocation must hold the per-key lock of its virtual object / workflow. */
export function needsKeyLock(t: InvocationTarget): boolean {
  return t.serviceType !== "SERVICE" && t.handlerType !== "SHARED";
}

export interface Header {
  readonly key: string;
  readonly value: string;
}

/** Where the result of an invocation goes once it is known. */
export type ResponseSink =
  | {
      readonly kind: "ingress";
      readonly nodeId: number;
      /** The waiting request, so an answer meant for it alone (a refusal) reaches only it; absent in older records. */
      readonly requestId?: string;
    }
  | {
      readonly kind: "invocation";
      readonly caller: InvocationId;
      readonly completionId: number;
      /** Which notification the caller expects: a call result, an attach result or an output peek. */
      readonly via?: ResponseVia;
    };

export type ResponseVia = "call" | "attach" | "output";

export type InvocationResult =
  | { readonly kind: "success"; readonly value: Uint8Array }
  | { readonly kind: "failure"; readonly code: number; readonly message: string };

/**
 * `paused`: the invoker stopped retrying (retries used up with on-max-attempts = pause, an SDK error
 * asking to pause, or an operator's pause); it holds its key and waits for a resume, cancel or kill.
 */
export type InvocationStatusKind = "scheduled" | "inboxed" | "invoked" | "suspended" | "paused" | "completed";

/** What the runtime waits for before resuming a suspended invocation (leaf ids of the await tree). */
export interface AwaitingOn {
  readonly completions: readonly number[];
  readonly signals: readonly number[];
  readonly namedSignals: readonly string[];
}

/** The deployment and service protocol version an invocation started on (Restate's deployment pinning). */
export interface PinnedDeployment {
  readonly deploymentId: string;
  readonly protocolVersion: number;
}

/**
 * An invocation's place in a trace (W3C trace context, lowercase hex): its trace, the span of the
 * invocation itself, and the span that caused it (the ingress request, or the caller's attempt).
 * Chosen by whoever proposed the invocation and carried in the log, never during apply.
 */
export interface InvocationTraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
}

export interface InvocationStatus {
  readonly id: InvocationId;
  readonly status: InvocationStatusKind;
  readonly target: InvocationTarget;
  readonly headers: readonly Header[];
  readonly responseSinks: readonly ResponseSink[];
  readonly idempotencyKey?: string;
  /** Caller invocation for calls/sends made from a handler; absent for ingress requests. */
  readonly invokedBy?: InvocationId;
  /** The completed invocation this one was restarted from (admin restart-as-new). */
  readonly restartedFrom?: InvocationId;
  /** Seed handed to the SDK's deterministic RNG; chosen by whoever proposed the Invoke record. */
  readonly randomSeed: string;
  /** Journal length (commands + notifications). */
  readonly journalLength: number;
  /** Commands the SDK has written so far; the next command record must carry this index. */
  readonly commandCount: number;
  /** Completion ids already delivered, to drop duplicate deliveries. */
  readonly deliveredCompletions: readonly number[];
  /** Signals already delivered: indexes as numbers, named signals as strings. */
  readonly deliveredSignals?: readonly (number | string)[];
  readonly awaiting?: AwaitingOn;
  readonly result?: InvocationResult;
  /** Epoch of the leader that last (re)started the invocation; informational. */
  readonly leaderEpoch?: LeaderEpoch;
  /** Set by the first attempt: every later attempt runs on this deployment, whatever is registered since. */
  readonly pinnedDeployment?: PinnedDeployment;
  /** Absent for invocations proposed before traces were recorded. */
  readonly traceContext?: InvocationTraceContext;
  // Timestamps (ms since epoch) — always copied from the header of the record that caused them.
  readonly createdAt: number;
  readonly modifiedAt: number;
  readonly scheduledAt?: number;
  readonly executionTime?: number;
  readonly inboxedAt?: number;
  readonly runningAt?: number;
  readonly completedAt?: number;
  /** How long the completed status is kept (ms); 0 keeps only a dedup tombstone until purge. */
  readonly completionRetentionMs: number;
  /**
   * How long the journal is kept after completion when that is shorter than the completion
   * retention; absent, it goes with the status. Once it is gone, `journalLength` is 0.
   */
  readonly journalRetentionMs?: number;
}

/** Where a signal notification goes: a numbered slot (awakeables, built-in CANCEL) or a name. */
export type SignalId = { readonly idx: number } | { readonly name: string };

export type SignalResult = { readonly kind: "void" } | InvocationResult;

/** Built-in signal index that asks an invocation to cancel itself. */
export const CANCEL_SIGNAL = 1;

export interface JournalEntry {
  readonly index: number;
  readonly type: number;
  readonly payload: Uint8Array;
  readonly appendedAt: number;
  /** Optional human name the SDK gave the command (e.g. the ctx.run name). */
  readonly name?: string;
}
