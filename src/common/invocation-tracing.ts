import type { Attributes } from "@opentelemetry/api";
import type { InvocationStatus, InvocationTarget, InvocationTraceContext } from "../types/invocation.ts";
import { SpanKind, SpanStatusCode, Tracing, parseTraceparent, spanIdsOf, type Span, type SpanIds } from "./tracing.ts";

/**
 * The spans of an invocation's life, one trace from the client's request to the last callee:
 *
 * ```
 * ingress <target>              the HTTP request (continues the client's traceparent)
 *   invoke <target>             the invocation, created to completed (its id is in the log)
 *     attempt <target>          one request to the deployment; its traceparent goes with it,
 *       attempt started         exported as the attempt starts
 *       (the SDK's spans)
 *       invoke <callee>         a call made by the handler, and so on
 * ```
 *
 * Ids an invocation keeps (the trace, its own span) are chosen by whoever proposes it and carried
 * in its log record; attempt spans belong to the leader that runs them.
 */
export class InvocationTracing {
  constructor(readonly tracing: Tracing) {}

  /** The ingress request's span, and the trace context of the invocation it proposes (a child of it). */
  ingressRequest(clientTraceparent: string | undefined, target: InvocationTarget): { span: Span; invocation: InvocationTraceContext } {
    const parent = parseTraceparent(clientTraceparent);
    const span = this.tracing.enabled
      ? this.tracing.startSpan(`ingress ${targetName(target)}`, { kind: SpanKind.SERVER, ...(parent ? { parent } : {}), attributes: targetAttributes(target) })
      : this.tracing.startSpan("ingress", parent ? { parent } : {});
    const ids = spanIdsOf(span);
    return { span, invocation: { traceId: ids.traceId, spanId: this.tracing.newSpanId(), parentSpanId: ids.spanId } };
  }

  /** A callee's trace context, chosen by the leader for the record that journals the call: a child of the calling attempt. */
  callee(callerAttempt: SpanIds): InvocationTraceContext {
    return { traceId: callerAttempt.traceId, spanId: this.tracing.newSpanId(), parentSpanId: callerAttempt.spanId };
  }

  /**
   * Starts the span of attempt `attempt` (from 1) of `status` under its invocation's span (a new
   * trace for an invocation proposed before traces were recorded), and exports a zero-length
   * `attempt started` span under it at once: a trace shows a running attempt, not only ended ones.
   */
  attemptStarted(status: InvocationStatus, attempt: number, deploymentId: string): Span {
    const tc = status.traceContext;
    // Without an exporter only the ids matter (the deployment's traceparent, callees' parents).
    if (!this.tracing.enabled) return this.tracing.startSpan("attempt", tc ? { parent: tc } : {});
    const attributes = { ...invocationAttributes(status), "restate.invocation.attempt": attempt, "restate.deployment.id": deploymentId };
    const span = this.tracing.startSpan(`attempt ${targetName(status.target)}`, { kind: SpanKind.CLIENT, ...(tc ? { parent: tc } : {}), attributes });
    this.tracing.startSpan("attempt started", { parent: spanIdsOf(span), attributes }).end();
    return span;
  }

  /** Ends an attempt's span with how it ended. */
  attemptEnded(span: Span, outcome: { readonly kind: string; readonly message?: string }): void {
    span.setAttribute("restate.attempt.outcome", outcome.kind);
    if (outcome.kind === "failed") span.setStatus({ code: SpanStatusCode.ERROR, ...(outcome.message !== undefined ? { message: outcome.message } : {}) });
    span.end();
  }

  /** The invocation's own span, from its creation to its completion, under the ids its proposer chose; exported now. */
  invocationCompleted(status: InvocationStatus): void {
    const tc = status.traceContext;
    if (!this.tracing.enabled || tc === undefined || status.status !== "completed") return;
    const span = this.tracing.startSpan(`invoke ${targetName(status.target)}`, {
      spanId: tc.spanId,
      traceId: tc.traceId,
      ...(tc.parentSpanId !== undefined ? { parent: { traceId: tc.traceId, spanId: tc.parentSpanId } } : {}),
      startTime: status.createdAt,
      attributes: invocationAttributes(status),
    });
    if (status.result?.kind === "failure") span.setStatus({ code: SpanStatusCode.ERROR, message: `[${status.result.code}] ${status.result.message}` });
    span.end(status.completedAt ?? status.modifiedAt);
  }
}

function targetName(t: InvocationTarget): string {
  return t.key !== undefined ? `${t.service}/${t.key}/${t.handler}` : `${t.service}/${t.handler}`;
}

function targetAttributes(t: InvocationTarget): Attributes {
  return { "rpc.service": t.service, "rpc.method": t.handler, "restate.invocation.target": targetName(t), ...(t.key !== undefined ? { "restate.invocation.key": t.key } : {}) };
}

function invocationAttributes(s: InvocationStatus): Attributes {
  return { ...targetAttributes(s.target), "restate.invocation.id": s.id };
}

/** A node's invocation spans as its tracing settings ask: exported over OTLP to `endpoint`, or recorded nowhere when it is empty. */
export function invocationTracingFor(o: { readonly endpoint: string; readonly serviceName: string }, nodeName: string): InvocationTracing {
  return new InvocationTracing(o.endpoint === "" ? Tracing.disabled() : new Tracing({ endpoint: o.endpoint, serviceName: o.serviceName, attributes: { "service.instance.id": nodeName } }));
}
