import type { HandlerSchema } from "./schema.ts";

/** A node's retention for handlers that set none of their own (configured; Restate's are 24 h each). */
export interface RetentionDefaults {
  readonly journalMs: number;
  readonly idempotencyMs: number;
  readonly workflowCompletionMs: number;
}

/** How long a completed invocation keeps its status (and result), and its journal when that goes sooner. */
export interface InvocationRetention {
  /** Absent: neither the handler nor the node set one, the partition's default applies. */
  readonly completionRetentionMs?: number;
  /** Only when the journal is to go before the status; the partition caps it at the completion retention. */
  readonly journalRetentionMs?: number;
}

/**
 * Retention of a new invocation of `handler`, as Restate decides it for a call from the ingress and
 * from a handler alike: a workflow run keeps its status for the workflow's completion retention, an
 * idempotent request for the idempotency retention, and their journals for the journal retention
 * at most; any other invocation keeps status and journal for the journal retention. The handler's
 * settings (its service's included) come first, then `defaults`.
 */
export function invocationRetention(handler: HandlerSchema, idempotent: boolean, defaults?: RetentionDefaults): InvocationRetention {
  const journal = handler.journalRetentionMs ?? defaults?.journalMs;
  const keepsResult = handler.ty === "WORKFLOW" || idempotent;
  if (!keepsResult) return journal === undefined ? {} : { completionRetentionMs: journal };
  const completion =
    handler.ty === "WORKFLOW" ? (handler.workflowCompletionRetentionMs ?? defaults?.workflowCompletionMs) : (handler.idempotencyRetentionMs ?? defaults?.idempotencyMs);
  return {
    ...(completion !== undefined ? { completionRetentionMs: completion } : {}),
    ...(journal !== undefined && (completion === undefined || journal < completion) ? { journalRetentionMs: journal } : {}),
  };
}
