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

/** `result` for this one sink only; `refused` marks a refusal of its request rather than the invocation's outcome. */
export function sendResultTo(ctx: ApplyContext, id: InvocationId, sink: ResponseSink, result: InvocationResult, refused = false): void {
  if (sink.kind === "ingress") {
    const request = sink.requestId !== undefined ? { requestId: sink.requestId } : {};
    ctx.emit({ t: "result", id, result, ...request, ...(refused ? { refused } : {}) });
    return;
  }
  ctx.outbox({ t: "invocation-response", target: sink.caller, completionId: sink.completionId, result, ...(sink.via ? { via: sink.via } : {}) });
}

/** Ingress waiters on a node are all woken by one result effect, so one ingress sink stands for them all. */
function sameSink(a: ResponseSink, b: ResponseSink): boolean {
  if (a.kind === "ingress" || b.kind === "ingress") return a.kind === b.kind;
  return sameCaller(a, b);
}

/**
 * Whether `sink` is a request `inv` has already seen, arriving again (an outbox message shipped
 * twice, an ingress request proposed again): a calling invocation's completion, or an ingress
 * request's id. An ingress sink from a record without request ids cannot be told apart.
 */
export function isRepeatedRequest(inv: InvocationStatus, sink: ResponseSink): boolean {
  if (sink.kind === "ingress") return sink.requestId === undefined || hasIngressRequest(inv, sink.requestId);
  return inv.responseSinks.some((s) => s.kind === "invocation" && sameCaller(s, sink));
}

/** Whether the ingress request `requestId` is one of `inv`'s sinks. */
export function hasIngressRequest(inv: InvocationStatus, requestId: string): boolean {
  return inv.responseSinks.some((s) => s.kind === "ingress" && s.requestId === requestId);
}

function sameCaller(a: Extract<ResponseSink, { kind: "invocation" }>, b: Extract<ResponseSink, { kind: "invocation" }>): boolean {
  return a.caller === b.caller && a.completionId === b.completionId;
}
