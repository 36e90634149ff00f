import type { ServerResponse } from "node:http";
import type { InvocationDispatcher } from "../partition/dispatcher.ts";
import { idempotentInvocationId, workflowRunInvocationId } from "../partition/routing.ts";
import type { HandlerSchema, SchemaView } from "../schema/schema.ts";
import { BadRequestError } from "../types/errors.ts";
import type { InvocationId } from "../types/ids.ts";
import type { InvocationTarget } from "../types/invocation.ts";
import { invocationNotFound, notFound, NotReadyError, scopeUnsupported } from "./errors.ts";
import { invocationId, type InvocationQuery } from "./paths.ts";
import { writeOutcome } from "./responses.ts";

/** The id an invocation query names; derived, so it exists whether or not the invocation does. */
export function queryInvocationId(query: InvocationQuery): InvocationId {
  switch (query.by) {
    case "id":
      return query.id;
    case "workflow":
      return workflowRunInvocationId(query.name, query.key);
    case "idempotency-key":
      return idempotentInvocationId(query.service, query.key ?? "", query.handler, query.idempotencyKey);
  }
}

/** When a completed invocation's stored result goes away, if it is kept at all. */
export async function completionExpiry(dispatcher: InvocationDispatcher, id: InvocationId): Promise<number | undefined> {
  const status = await dispatcher.readStatus(id);
  if (status?.status !== "completed" || status.completedAt === undefined || status.completionRetentionMs <= 0) return undefined;
  return status.completedAt + status.completionRetentionMs;
}

/**
 * `attach` waits for the invocation's result; `output` answers at once, 470 while it runs. A
 * completed invocation whose result was not kept is gone, as one that never existed.
 */
export async function attachTo(
  ctx: { readonly schema: SchemaView; readonly dispatcher: InvocationDispatcher },
  res: ServerResponse,
  id: InvocationId,
  mode: "attach" | "output",
): Promise<void> {
  // Register first, then look: a completion in between is caught by the waiter.
  const waiter = ctx.dispatcher.awaitResult(id);
  res.on("close", () => waiter.cancel());
  const status = await ctx.dispatcher.readStatus(id);
  const running = status !== null && status.status !== "completed";
  if (!running || mode === "output") waiter.cancel();
  if (status === null || (!running && status.result === undefined)) throw invocationNotFound();
  if (running && mode === "output") throw new NotReadyError();
  const result = running ? (await waiter.answer).result : status.result!;
  const handler = result.kind === "success" ? handlerOf(ctx.schema, status.target) : undefined;
  const expiresAt = await completionExpiry(ctx.dispatcher, id);
  writeOutcome(res, { id, ...(handler ? { handler } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) }, result);
}

/** The handler that produced a result, for its output content type; Restate answers 404 once it is unregistered. */
function handlerOf(schema: SchemaView, target: InvocationTarget): HandlerSchema {
  const handler = schema.service(target.service)?.handlers.find((h) => h.name === target.handler);
  if (!handler) throw notFound();
  return handler;
}

/**
 * The JSON body of `POST /restate/attach|output|lookup`:
 * `{"target":"invocation","invocationId"}`, `{"target":"workflow","workflowName","workflowKey"}` or
 * `{"target":"idempotentInvocation","service","key"?,"handler","idempotencyKey"}`; `scope` may be
 * given as in Restate, and only null, as Reprise has no scoped invocations.
 */
export function parseTargetBody(body: Buffer, what: string): InvocationQuery {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw badBody(what, (e as Error).message);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw badBody(what, "expected a JSON object");
  const o = json as Record<string, unknown>;
  const field = (name: string): string => {
    const v = o[name];
    if (typeof v !== "string") throw badBody(what, `missing field \`${name}\``);
    return v;
  };
  if (o.scope !== undefined && o.scope !== null && o.target !== "invocation") throw scopeUnsupported();
  switch (o.target) {
    case "invocation":
      return { by: "id", id: invocationId(field("invocationId")) };
    case "workflow":
      return { by: "workflow", name: field("workflowName"), key: field("workflowKey") };
    case "idempotentInvocation": {
      const key = o.key === undefined || o.key === null ? undefined : field("key");
      return { by: "idempotency-key", service: field("service"), handler: field("handler"), idempotencyKey: field("idempotencyKey"), ...(key !== undefined ? { key } : {}) };
    }
    default:
      throw badBody(what, "`target` must be one of `workflow`, `idempotentInvocation`, `invocation`");
  }
}

/** Restate answers 500 for these; a malformed body is the client's mistake, so Reprise says 400. */
function badBody(what: string, reason: string): BadRequestError {
  return new BadRequestError(`invalid ${what} body: ${reason}`, "bad_target_body");
}
