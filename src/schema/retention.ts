import type { HandlerSchema } from "./schema.ts";

/**
 * How long a new invocation of `handler` keeps its completed status (and result), as Restate
 * decides it for a call from the ingress and from a handler alike: a workflow run keeps it for the
 * workflow's completion retention, an idempotent request for the idempotency retention, any other
 * for the journal retention. `undefined`: the handler sets none, the partition's default applies.
 */
export function completionRetentionMs(handler: HandlerSchema, idempotent: boolean): number | undefined {
  if (handler.ty === "WORKFLOW") return handler.workflowCompletionRetentionMs;
  return idempotent ? handler.idempotencyRetentionMs : handler.journalRetentionMs;
}
