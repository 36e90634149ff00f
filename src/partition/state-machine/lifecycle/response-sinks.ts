import type { InvocationId } from "../../../types/ids.ts";
import type { InvocationResult, InvocationStatus, ResponseSink } from "../../../types/invocation.ts";
import type { ApplyContext } from "../context.ts";

/** Another caller wants `inv`'s result: answered now if it has one, else when it completes. */
export function addSink(ctx: ApplyContext, inv: InvocationStatus, sink: ResponseSink): void {
  if (inv.status === "completed") {
    sendResultTo(ctx, inv.id, sink, inv.result!);
    return;
  }
  if (inv.responseSinks.some((s) => sameSink(s, sink))) return;
  ctx.tx.putInvocation({ ...inv, responseSinks: [...inv.responseSinks, sink], modifiedAt: ctx.ts });
}

/** Hands the result to every sink: ingress waiters now, calling invocations through the outbox. */
export function sendResult(ctx: ApplyContext, inv: InvocationStatus, result: InvocationResult): void {
  ctx.emit({ t: "result", id: inv.id, result });
  for (const sink of inv.responseSinks) if (sink.kind === "invocation") sendResultTo(ctx, inv.id, sink, result);
}

export function sendResultTo(ctx: ApplyContext, id: InvocationId, sink: ResponseSink, result: InvocationResult): void {
  if (sink.kind === "ingress") {
    ctx.emit({ t: "result", id, result });
    return;
  }
  ctx.outbox({ t: "invocation-response", target: sink.caller, completionId: sink.completionId, result, ...(sink.via ? { via: sink.via } : {}) });
}

function sameSink(a: ResponseSink, b: ResponseSink): boolean {
  if (a.kind === "ingress" || b.kind === "ingress") return a.kind === b.kind;
  return a.caller === b.caller && a.completionId === b.completionId;
}
