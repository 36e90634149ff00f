import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, sendJson } from "../common/http-util.ts";
import type { InvocationTracing } from "../common/invocation-tracing.ts";
import type { InvocationDispatcher } from "../partition/dispatcher.ts";
import type { InvokeRequest } from "../partition/records.ts";
import { invocationIdFor, randomSeed } from "../partition/routing.ts";
import { invocationRetention, type RetentionDefaults } from "../schema/retention.ts";
import { requireKey, type SchemaView } from "../schema/schema.ts";
import { BadRequestError } from "../types/errors.ts";
import type { Header, InvocationTarget } from "../types/invocation.ts";
import { completionExpiry } from "./attach.ts";
import { delayParameter } from "./delay.ts";
import { badHeader, MethodNotAllowedError, scopeUnsupported } from "./errors.ts";
import { validateInput } from "./input.ts";
import type { ServiceRequest } from "./paths.ts";
import { writeOutcome, X_RESTATE_ID } from "./responses.ts";

export interface CallContext {
  readonly schema: SchemaView;
  readonly tracing: InvocationTracing;
  readonly retention: RetentionDefaults;
  readonly dispatcher: InvocationDispatcher;
  readonly bodyLimitBytes: number;
}

/** Headers that are about the HTTP exchange or the ingress's own handling: not passed to handlers. */
const NOT_FORWARDED = new Set(["connection", "host", "idempotency-key", "idempotency-expires"]);

/**
 * Calls (`200` with the result) and sends (`202` once the invocation is durable) of a handler,
 * checked in Restate's order so the same mistake gets the same answer.
 */
export async function handleServiceRequest(ctx: CallContext, req: IncomingMessage, res: ServerResponse, call: ServiceRequest, query: URLSearchParams): Promise<void> {
  const resolved = ctx.schema.resolveTarget(call.service, call.handler);
  const handler = resolved.handler;
  if (handler.ingressPrivate) throw new BadRequestError("the invoked service is not public", "private_service");
  requireKey(resolved.target, call.key);
  const target: InvocationTarget = { ...resolved.target, ...(call.key !== undefined ? { key: call.key } : {}) };
  const idempotencyKey = visibleHeader(req, "idempotency-key");
  if (idempotencyKey !== undefined && handler.ty === "WORKFLOW") {
    throw new BadRequestError(
      "cannot use the idempotency key with workflow handlers. The handler invocation will already be idempotent by the workflow key itself.",
      "unsupported_idempotency_key",
    );
  }
  if (call.scope !== undefined) throw scopeUnsupported();
  if (req.method !== "GET" && req.method !== "POST") throw new MethodNotAllowedError("GET or POST");

  const body = await readBody(req, ctx.bodyLimitBytes);
  validateInput(handler, visibleHeader(req, "content-type"), body);
  const delayMs = delayParameter(query);
  const limitKey = visibleHeader(req, "x-restate-limit-key") ?? query.get("limit-key") ?? "";
  // Limit keys partition concurrency within a scope, and Reprise has no scopes.
  if (limitKey !== "") throw new BadRequestError("limit-key requires a scope to be set", "limit_key_without_scope");
  const headers = forwardedHeaders(req);
  if (!call.send && delayMs !== undefined) {
    throw new BadRequestError("cannot use the delay query parameter with calls. The delay is supported only with sends", "unsupported_delay");
  }

  const now = Date.now();
  const id = invocationIdFor(target, idempotencyKey, () => ctx.dispatcher.keylessPartitionKey());
  const trace = ctx.tracing.ingressRequest(visibleHeader(req, "traceparent"), target);
  res.once("close", () => {
    trace.span.setAttribute("http.response.status_code", res.statusCode);
    trace.span.end();
  });
  const executionTime = delayMs !== undefined && delayMs > 0 ? now + delayMs : undefined;
  const request: InvokeRequest = {
    id,
    target,
    argument: body,
    headers,
    randomSeed: randomSeed(),
    ...(executionTime !== undefined ? { executionTime } : {}),
    ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    ...invocationRetention(handler, idempotencyKey !== undefined, ctx.retention),
    traceContext: trace.invocation,
  };
  const deduplicated = idempotencyKey !== undefined || handler.ty === "WORKFLOW";

  if (call.send) {
    const previously = deduplicated && (await ctx.dispatcher.readStatus(id)) !== null;
    await ctx.dispatcher.dispatch(request);
    const accepted = { invocationId: id, ...(executionTime !== undefined ? { executionTime: new Date(executionTime).toISOString() } : {}) };
    return sendJson(res, 202, { ...accepted, status: previously ? "PreviouslyAccepted" : "Accepted" }, { [X_RESTATE_ID]: id });
  }
  // The partition decides what this request gets: a new run's result, an idempotent duplicate's
  // shared result, or (a second run of a workflow) a refusal meant for this request alone.
  const waiter = ctx.dispatcher.awaitResult(id);
  res.on("close", () => waiter.cancel());
  try {
    await ctx.dispatcher.dispatch({ ...request, responseSink: { kind: "ingress", nodeId: ctx.dispatcher.nodeId, requestId: waiter.requestId } });
  } catch (e) {
    waiter.cancel();
    throw e;
  }
  const { result, refused } = await waiter.answer;
  if (refused) return writeOutcome(res, { id }, result);
  const expiresAt = deduplicated ? await completionExpiry(ctx.dispatcher, id) : undefined;
  writeOutcome(res, { id, handler, ...(expiresAt !== undefined ? { expiresAt } : {}) }, result);
}

/** A header's value, refused (400) unless it is visible ASCII as HTTP header values must be. */
function visibleHeader(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  const value = Array.isArray(v) ? v[0] : v;
  if (value !== undefined && !isVisibleAscii(value)) throw badHeader(name);
  return value;
}

function isVisibleAscii(value: string): boolean {
  return /^[\t\x20-\x7e]*$/.test(value);
}

/** What the handler sees in `ctx.request().headers`: the request's headers and the path it came by. */
function forwardedHeaders(req: IncomingMessage): Header[] {
  const out: Header[] = [{ key: "x-restate-ingress-path", value: req.url ?? "/" }];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const key = req.rawHeaders[i].toLowerCase();
    const value = req.rawHeaders[i + 1];
    if (NOT_FORWARDED.has(key)) continue;
    if (!isVisibleAscii(value)) throw badHeader(key);
    out.push({ key, value });
  }
  return out;
}
