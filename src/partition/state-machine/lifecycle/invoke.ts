import { encodeInputCommand } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { InvocationResult, InvocationStatus, ResponseSink } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { delayedInvokeTimerKey } from "../timer-keys.ts";
import { schedule } from "./key-lock.ts";
import { addSink, hasIngressRequest, isRepeatedRequest, sendResultTo } from "./response-sinks.ts";

/** Completed invocations (and their journals) are kept this long unless the handler says otherwise. */
export const DEFAULT_COMPLETION_RETENTION_MS = 24 * 60 * 60 * 1000;

/** Restate's answer to a second run of a workflow (from the ingress or a handler): the first run keeps its result. */
export const WORKFLOW_ALREADY_INVOKED: InvocationResult = { kind: "failure", code: 409, message: "the workflow method was already invoked" };

/** A new invocation: journals its input and runs it now, at its execution time, or after the key's holder. */
export const invoke: CommandHandler<"invoke"> = (ctx, { request: req }) => {
  const { tx, ts } = ctx;
  const existing = tx.getInvocation(req.id);
  if (existing) {
    // Same id again: an idempotent request, a second workflow run, or a re-shipped outbox
    // message. Never a second execution.
    if (req.responseSink) answerDuplicate(ctx, existing, req.responseSink);
    return;
  }
  tx.appendJournal(req.id, { index: 0, type: MessageType.InputCommand, payload: encodeInputCommand(req.headers, req.argument), appendedAt: ts });
  if (req.idempotencyKey !== undefined) tx.putIdempotency(idempotencyScope(req), { invocationId: req.id });
  const delayed = req.executionTime !== undefined && req.executionTime > ts;
  const status: InvocationStatus = {
    id: req.id,
    status: "scheduled",
    target: req.target,
    headers: req.headers,
    responseSinks: req.responseSink ? [req.responseSink] : [],
    ...(req.idempotencyKey !== undefined ? { idempotencyKey: req.idempotencyKey } : {}),
    ...(req.invokedBy !== undefined ? { invokedBy: req.invokedBy } : {}),
    randomSeed: req.randomSeed,
    journalLength: 1,
    commandCount: 1,
    deliveredCompletions: [],
    createdAt: ts,
    modifiedAt: ts,
    completionRetentionMs: req.completionRetentionMs ?? DEFAULT_COMPLETION_RETENTION_MS,
    ...(req.journalRetentionMs !== undefined ? { journalRetentionMs: req.journalRetentionMs } : {}),
    ...(req.traceContext !== undefined ? { traceContext: req.traceContext } : {}),
    ...(delayed ? { scheduledAt: ts, executionTime: req.executionTime } : {}),
  };
  if (delayed) {
    tx.putInvocation(status);
    ctx.putTimer({ key: delayedInvokeTimerKey(req.id), fireAt: req.executionTime!, kind: "delayed-invoke", invocationId: req.id });
    return;
  }
  schedule(ctx, status);
};

/**
 * A duplicate idempotent request waits for the (eventual) result; a new request to run a workflow
 * again is refused with Restate's 409, whether the run is going on or completed.
 */
function answerDuplicate(ctx: ApplyContext, inv: InvocationStatus, sink: ResponseSink): void {
  if (inv.target.handlerType === "WORKFLOW" && !isRepeatedRequest(inv, sink)) sendResultTo(ctx, inv.id, sink, WORKFLOW_ALREADY_INVOKED, true);
  else addSink(ctx, inv, sink);
}

/**
 * What a request waiting on the completed `inv` gets, decided from its status alone as
 * `answerDuplicate` would (for a waiter that registered after the result was applied): the
 * result, or, for a workflow run this request did not start, the refusal. Undefined until it
 * completes.
 */
export function answerFromCompleted(inv: InvocationStatus, requestId: string): { result: InvocationResult; refused: boolean } | undefined {
  if (inv.status !== "completed" || inv.result === undefined) return undefined;
  if (inv.target.handlerType === "WORKFLOW" && !hasIngressRequest(inv, requestId)) return { result: WORKFLOW_ALREADY_INVOKED, refused: true };
  return { result: inv.result, refused: false };
}

/** Idempotency is scoped by target: the same key on another handler is another request. */
export function idempotencyScope(req: { target: { service: string; handler: string; key?: string }; idempotencyKey?: string }): string {
  return `${req.target.service}/${req.target.key ?? ""}/${req.target.handler}/${req.idempotencyKey ?? ""}`;
}
