import { callInvocationIdCompletion, type JournalCommandMessages } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { InvocationStatus } from "../../../types/invocation.ts";
import type { CalleeAssignment, InvokeRequest } from "../../records.ts";
import type { ApplyContext, EntryHandler } from "../context.ts";
import { deliverCompletion } from "../lifecycle/deliver.ts";
import { respond } from "../lifecycle/invocation-response.ts";

/** A request-response call: the callee is invoked through the outbox and answers the result completion. */
export const call: EntryHandler<typeof MessageType.CallCommand> = (ctx, inv, m, callee) =>
  invokeCallee(ctx, inv, callee, m, m.resultCompletionId);

type CallMessage = JournalCommandMessages[typeof MessageType.CallCommand] | JournalCommandMessages[typeof MessageType.OneWayCallCommand];

/**
 * Sends the invocation the proposer assigned for a Call or OneWayCall to its partition, and tells
 * the caller the callee's id. `resultCompletion` is where the callee's result goes (calls only).
 */
export function invokeCallee(
  ctx: ApplyContext,
  inv: InvocationStatus,
  callee: CalleeAssignment | undefined,
  m: CallMessage,
  resultCompletion?: number,
  executionTime?: number,
): void {
  if (!callee || "error" in callee) {
    // The proposer could not resolve the target: fail the call, not the caller.
    const error = callee && "error" in callee ? callee.error : { code: 500, message: "call without callee assignment" };
    if (resultCompletion !== undefined) respond(ctx, inv.id, resultCompletion, { kind: "failure", ...error }, "call", false);
    return;
  }
  const request: InvokeRequest = {
    id: callee.invocationId,
    target: { ...callee.target, ...(callee.target.serviceType !== "SERVICE" ? { key: m.key } : {}) },
    argument: m.parameter,
    headers: m.headers.map((h) => ({ key: h.key, value: h.value })),
    randomSeed: callee.randomSeed,
    invokedBy: inv.id,
    ...(resultCompletion !== undefined ? { responseSink: { kind: "invocation" as const, caller: inv.id, completionId: resultCompletion } } : {}),
    ...(m.idempotencyKey ? { idempotencyKey: m.idempotencyKey } : {}),
    ...(executionTime !== undefined ? { executionTime } : {}),
    ...(callee.completionRetentionMs !== undefined ? { completionRetentionMs: callee.completionRetentionMs } : {}),
    ...(callee.journalRetentionMs !== undefined ? { journalRetentionMs: callee.journalRetentionMs } : {}),
    ...(callee.traceContext !== undefined ? { traceContext: callee.traceContext } : {}),
  };
  ctx.outbox({ t: "invoke", request });
  const idCompletion = m.invocationIdNotificationIdx;
  deliverCompletion(ctx, inv.id, callInvocationIdCompletion(idCompletion, callee.invocationId), idCompletion);
}
