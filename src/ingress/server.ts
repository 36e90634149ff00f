import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listenOn } from "../common/http-server.ts";
import type { Logger } from "pino";
import type { HandlerSchema, SchemaView } from "../schema/schema.ts";
import { requireKey } from "../schema/schema.ts";
import type { Header, InvocationResult, InvocationTarget } from "../types/invocation.ts";
import type { InvokeRequest } from "../partition/records.ts";
import { parseAwakeableId } from "../partition/awakeable-id.ts";
import {
  idempotentInvocationId,
  partitionKeyForKey,
  randomPartitionKey,
  randomSeed,
  workflowRunInvocationId,
} from "../partition/routing.ts";
import { BadRequestError, ConflictError, NotFoundError, RepriseError } from "../types/errors.ts";
import { newInvocationId, parseInvocationId, type InvocationId } from "../types/ids.ts";
import type { InvocationDispatcher } from "../partition/dispatcher.ts";
import { parseDuration, readBody, sendError, sendJson } from "../common/http-util.ts";

export interface IngressOptions {
  readonly port: number;
  readonly host: string;
  readonly bodyLimitBytes: number;
  readonly schema: () => SchemaView;
  readonly dispatcher: InvocationDispatcher;
  readonly logger: Logger;
}

/** Headers that describe the HTTP exchange itself, not the invocation: not passed to handlers. */
const HOP_HEADERS = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "accept-encoding"]);

interface ParsedCall {
  readonly target: InvocationTarget;
  readonly handler: HandlerSchema;
  readonly send: boolean;
}

/** The client-facing HTTP API, shaped like Restate's ingress. */
export class IngressServer {
  private readonly server: http.Server;
  private readonly log: Logger;

  constructor(private readonly o: IngressOptions) {
    this.log = o.logger.child({ component: "ingress" });
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => sendError(res, e, { source: "ingress" }));
    });
    this.server.keepAliveTimeout = 65_000;
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.o.port, this.o.host);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://ingress");
    const segments = url.pathname.split("/").filter((s) => s.length > 0).map(decodeSegment);
    if (segments[0] === "restate") return this.handleRestateApi(req, res, segments.slice(1));
    if (req.method !== "POST") {
      throw new RepriseError("method_not_allowed", `method ${req.method} not allowed; invoke handlers with POST`, false, 405);
    }
    const call = this.parsePath(segments);
    if (call.handler.ingressPrivate) {
      throw new BadRequestError(`the handler '${call.target.service}/${call.target.handler}' is private and cannot be called through the ingress`, "private_handler");
    }
    const body = await readBody(req, this.o.bodyLimitBytes);
    validateInput(call.handler, req.headers["content-type"], body);
    const delay = url.searchParams.get("delay");
    if (delay !== null && !call.send) {
      throw new BadRequestError("cannot use the delay query parameter with calls. The delay is supported only with sends", "unsupported_delay");
    }
    const delayMs = delay === null ? 0 : parseDuration(delay);
    if (delayMs === null) throw new BadRequestError(`bad delay query parameter '${delay}': use an ISO-8601 duration (PT10S) or e.g. 10s, 500ms`, "bad_delay");
    const idempotencyKey = headerValue(req, "idempotency-key");
    if (idempotencyKey !== undefined && call.target.handlerType === "WORKFLOW") {
      throw new BadRequestError(
        "cannot use the idempotency key with workflow handlers. The handler invocation will already be idempotent by the workflow key itself.",
        "unsupported_idempotency_key",
      );
    }

    const now = Date.now();
    const id = invocationIdFor(call.target, idempotencyKey);
    const request: InvokeRequest = {
      id,
      target: call.target,
      argument: body,
      headers: forwardedHeaders(req),
      randomSeed: randomSeed(),
      ...(call.send ? {} : { responseSink: { kind: "ingress" as const, nodeId: this.o.dispatcher.nodeId } }),
      ...(delayMs > 0 ? { executionTime: now + delayMs } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...retentionFor(call.handler, idempotencyKey),
    };

    if (call.send) {
      const previously = idempotencyKey !== undefined || call.target.handlerType === "WORKFLOW" ? this.o.dispatcher.status(id) !== null : false;
      await this.o.dispatcher.dispatch(request);
      return sendJson(
        res,
        202,
        {
          invocationId: id,
          status: previously ? "PreviouslyAccepted" : "Accepted",
          ...(delayMs > 0 ? { executionTime: new Date(now + delayMs).toISOString() } : {}),
        },
        { "x-restate-id": id },
      );
    }
    const waiter = this.o.dispatcher.awaitResult(id);
    res.on("close", () => waiter.cancel());
    try {
      await this.o.dispatcher.dispatch(request);
    } catch (e) {
      waiter.cancel();
      throw e;
    }
    writeResult(res, id, call.handler.outputContentType, await waiter.result);
  }

  /** `/restate/...`: health, attach/output, awakeables. */
  private async handleRestateApi(req: IncomingMessage, res: ServerResponse, segments: string[]): Promise<void> {
    const [kind, ...rest] = segments;
    if (kind === "health" && rest.length === 0 && req.method === "GET") return sendJson(res, 200, {});
    if (kind === "awakeables") return this.completeAwakeable(req, res, rest);
    if (kind === "invocation" || kind === "workflow") {
      const action = rest[rest.length - 1];
      if (action !== "attach" && action !== "output") throw invocationPathError(kind);
      if (req.method !== "GET") throw new RepriseError("method_not_allowed", `use GET for /restate/${kind}/.../${action}`, false, 405);
      const { id, outputContentType } = this.resolveAttachTarget(kind, rest.slice(0, -1));
      return this.attach(res, id, action, outputContentType);
    }
    throw new NotFoundError(`no such endpoint: /restate/${segments.join("/")}`);
  }

  private resolveAttachTarget(kind: string, parts: string[]): { id: InvocationId; outputContentType?: string } {
    const schema = this.o.schema();
    if (kind === "workflow") {
      if (parts.length !== 2) throw invocationPathError(kind);
      const svc = schema.service(parts[0]);
      if (!svc || svc.ty !== "WORKFLOW") throw new NotFoundError(`workflow '${parts[0]}' not found`, "service_not_found");
      const run = svc.handlers.find((h) => h.ty === "WORKFLOW");
      return { id: workflowRunInvocationId(parts[0], parts[1]), ...(run?.outputContentType ? { outputContentType: run.outputContentType } : {}) };
    }
    if (parts.length === 1) {
      try {
        return { id: parseInvocationId(parts[0]) };
      } catch (e) {
        throw new BadRequestError(`bad invocation id '${parts[0]}': ${(e as Error).message}`, "bad_invocation_id");
      }
    }
    // /restate/invocation/{service}[/{key}]/{handler}/{idempotencyKey}
    if (parts.length !== 3 && parts.length !== 4) throw invocationPathError(kind);
    const [service, key, handler, idempotencyKey] = parts.length === 4 ? parts : [parts[0], "", parts[1], parts[2]];
    const { handler: h } = schema.resolveTarget(service, handler);
    return { id: idempotentInvocationId(service, key, handler, idempotencyKey), ...(h.outputContentType ? { outputContentType: h.outputContentType } : {}) };
  }

  private async attach(res: ServerResponse, id: InvocationId, action: "attach" | "output", outputContentType?: string): Promise<void> {
    // Register first, then look: a completion in between is caught by the waiter.
    const waiter = this.o.dispatcher.awaitResult(id);
    res.on("close", () => waiter.cancel());
    const status = this.o.dispatcher.status(id);
    const contentType = outputContentType ?? (status ? this.o.schema().service(status.target.service)?.handlers.find((h) => h.name === status.target.handler)?.outputContentType : undefined);
    if (!status) {
      waiter.cancel();
      throw new NotFoundError("invocation not found", "invocation_not_found");
    }
    if (status.status === "completed" && status.result) {
      waiter.cancel();
      return writeResult(res, id, contentType, status.result);
    }
    if (action === "output") {
      waiter.cancel();
      return sendJson(res, 470, { code: 470, message: "the invocation exists but has not completed yet" }, { "x-restate-id": id });
    }
    writeResult(res, id, contentType, await waiter.result);
  }

  private async completeAwakeable(req: IncomingMessage, res: ServerResponse, parts: string[]): Promise<void> {
    const badPath = () => new BadRequestError("bad path, expected either /restate/awakeables/:id/resolve or /restate/awakeables/:id/reject", "bad_awakeable_path");
    if (parts.length !== 2 || (parts[1] !== "resolve" && parts[1] !== "reject")) throw badPath();
    if (req.method !== "POST") throw new RepriseError("method_not_allowed", "use POST to resolve or reject an awakeable", false, 405);
    const parsed = parseAwakeableId(parts[0]);
    if (!parsed) throw new BadRequestError(`bad awakeable id '${parts[0]}': expected 'sign_1' followed by base64url of 28 bytes`, "bad_awakeable_id");
    const body = await readBody(req, this.o.bodyLimitBytes);
    const status = this.o.dispatcher.status(parsed.invocationId);
    if (!status) throw new NotFoundError(`awakeable '${parts[0]}' not found: its invocation does not exist`, "awakeable_not_found");
    if (status.status === "completed" || (status.deliveredSignals ?? []).includes(parsed.signalIdx)) {
      throw new ConflictError(`awakeable '${parts[0]}' was already completed`, "awakeable_already_completed");
    }
    await this.o.dispatcher.propose(parsed.invocationId, {
      t: "signal",
      target: parsed.invocationId,
      signal: { idx: parsed.signalIdx },
      result: parts[1] === "resolve" ? { kind: "success", value: body } : { kind: "failure", code: 500, message: body.toString("utf8") },
    });
    res.writeHead(202).end();
  }

  /** `/svc/handler[/send]` for services, `/obj/key/handler[/send]` for objects and workflows. */
  private parsePath(segments: string[]): ParsedCall {
    const badPath = () =>
      new NotFoundError("bad path, expected either /:service-name/:handler or /:object-name/:object-key/:handler", "bad_path");
    if (segments.length < 2) throw badPath();
    const schema = this.o.schema();
    const service = segments[0];
    const keyed = (schema.service(service)?.ty ?? "SERVICE") !== "SERVICE";
    if (keyed && segments.length === 2) {
      // `/Counter/add`: the handler exists but the key is missing (or the handler is unknown: 404).
      requireKey(schema.resolveTarget(service, segments[1]).target, undefined);
    }
    const key = keyed ? segments[1] : undefined;
    const rest = segments.slice(keyed ? 2 : 1);
    const send = rest.length === 2 && rest[1] === "send";
    if (rest.length !== 1 && !send) throw badPath();
    const resolved = schema.resolveTarget(service, rest[0]);
    requireKey(resolved.target, key);
    return { target: { ...resolved.target, ...(key !== undefined ? { key } : {}) }, handler: resolved.handler, send };
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new BadRequestError(`bad path, cannot decode '${segment}'`, "bad_path");
  }
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function invocationPathError(kind: string): BadRequestError {
  return kind === "workflow"
    ? new BadRequestError("bad path, expected either /restate/workflow/:workflow_name/:workflow_key/output or /restate/workflow/:workflow_name/:workflow_key/attach", "bad_workflow_path")
    : new BadRequestError(
        "bad path, expected either /restate/invocation/:invocation_id/output or /restate/invocation/:invocation_id/attach or /restate/invocation/:invocation_target/:idempotency_key/output or /restate/invocation/:invocation_target/:idempotency_key/attach",
        "bad_invocation_path",
      );
}

/** Workflow runs and idempotent requests get ids derived from what makes them the same request. */
function invocationIdFor(target: InvocationTarget, idempotencyKey: string | undefined): InvocationId {
  if (target.handlerType === "WORKFLOW") return workflowRunInvocationId(target.service, target.key ?? "");
  if (idempotencyKey !== undefined) return idempotentInvocationId(target.service, target.key ?? "", target.handler, idempotencyKey);
  const pk = target.key !== undefined ? partitionKeyForKey(target.service, target.key) : randomPartitionKey();
  return newInvocationId(pk);
}

function retentionFor(handler: HandlerSchema, idempotencyKey: string | undefined): { completionRetentionMs?: number } {
  const ms =
    handler.ty === "WORKFLOW"
      ? handler.workflowCompletionRetentionMs
      : idempotencyKey !== undefined
        ? handler.idempotencyRetentionMs
        : handler.journalRetentionMs;
  return ms === undefined ? {} : { completionRetentionMs: ms };
}

function forwardedHeaders(req: IncomingMessage): Header[] {
  const out: Header[] = [];
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_HEADERS.has(k)) continue;
    for (const value of Array.isArray(v) ? v : [v]) out.push({ key: k, value });
  }
  return out;
}

/** Rejects input the handler cannot accept before anything is logged. */
function validateInput(handler: HandlerSchema, contentType: string | undefined, body: Buffer): void {
  if (body.length === 0) {
    if (handler.inputRequired) throw new BadRequestError(`the handler '${handler.name}' requires an input body`, "input_required");
    return;
  }
  if (handler.inputContentType === undefined) {
    throw new BadRequestError(`the handler '${handler.name}' takes no input, but the request has a body`, "unexpected_input");
  }
  if (isJson(handler.inputContentType)) {
    if (contentType !== undefined && !isJson(contentType) && !contentType.startsWith("text/plain")) {
      throw new RepriseError("unsupported_media_type", `the handler '${handler.name}' expects application/json, got '${contentType}'`, false, 415);
    }
    try {
      JSON.parse(body.toString("utf8"));
    } catch (e) {
      throw new BadRequestError(`malformed JSON body for handler '${handler.name}': ${(e as Error).message}`, "malformed_json");
    }
  }
}

function isJson(contentType: string): boolean {
  return /^application\/(.+\+)?json\b/i.test(contentType.trim());
}

function writeResult(res: ServerResponse, id: string, outputContentType: string | undefined, result: InvocationResult): void {
  if (res.writableEnded || res.destroyed) return;
  if (result.kind === "success") {
    const headers: Record<string, string | number> = { "x-restate-id": id, "content-length": result.value.length };
    if (outputContentType && result.value.length > 0) headers["content-type"] = outputContentType;
    res.writeHead(200, headers);
    res.end(Buffer.from(result.value));
    return;
  }
  const status = result.code >= 400 && result.code < 600 ? result.code : 500;
  sendJson(res, status, { code: result.code, message: result.message, source: "invocation" }, { "x-restate-id": id });
}
