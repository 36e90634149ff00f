import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { HandlerSchema, SchemaView } from "../admin/schema.ts";
import { requireKey } from "../admin/schema.ts";
import type { Header, InvocationResult, InvocationTarget } from "../partition/invocation.ts";
import type { InvokeRequest } from "../partition/records.ts";
import { partitionKeyForKey, randomPartitionKey, randomSeed } from "../partition/routing.ts";
import { BadRequestError, NotFoundError, RepriseError } from "../types/errors.ts";
import { newInvocationId } from "../types/ids.ts";
import type { InvocationDispatcher } from "./dispatcher.ts";
import { parseDuration, readBody, sendError, sendJson } from "./http-util.ts";

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

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.o.port, this.o.host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://ingress");
    const segments = url.pathname.split("/").filter((s) => s.length > 0);
    if (segments[0] === "restate") {
      if (segments[1] === "health" && req.method === "GET") return sendJson(res, 200, {});
      throw new NotFoundError(`no such endpoint: ${url.pathname}`);
    }
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

    const now = Date.now();
    const pk = call.target.key !== undefined ? partitionKeyForKey(call.target.service, call.target.key) : randomPartitionKey();
    const id = newInvocationId(pk);
    const request: InvokeRequest = {
      id,
      target: call.target,
      argument: body,
      headers: forwardedHeaders(req),
      randomSeed: randomSeed(),
      ...(call.send ? {} : { responseSink: { kind: "ingress" as const, nodeId: this.o.dispatcher.nodeId } }),
      ...(delayMs > 0 ? { executionTime: now + delayMs } : {}),
    };

    if (call.send) {
      await this.o.dispatcher.dispatch(request);
      return sendJson(res, 202, { invocationId: id, status: "Accepted", ...(delayMs > 0 ? { executionTime: new Date(now + delayMs).toISOString() } : {}) }, { "x-restate-id": id });
    }
    const waiter = this.o.dispatcher.awaitResult(id);
    res.on("close", () => waiter.cancel());
    try {
      await this.o.dispatcher.dispatch(request);
    } catch (e) {
      waiter.cancel();
      throw e;
    }
    writeResult(res, id, call.handler, await waiter.result);
  }

  /** `/svc/handler[/send]` for services, `/obj/key/handler[/send]` for objects and workflows. */
  private parsePath(segments: string[]): ParsedCall {
    const badPath = () =>
      new NotFoundError("bad path, expected either /:service-name/:handler or /:object-name/:object-key/:handler", "bad_path");
    if (segments.length < 2) throw badPath();
    const schema = this.o.schema();
    const service = decodeURIComponent(segments[0]);
    const keyed = (schema.service(service)?.ty ?? "SERVICE") !== "SERVICE";
    if (keyed && segments.length === 2) {
      // `/Counter/add`: the handler exists but the key is missing (or the handler is unknown: 404).
      requireKey(schema.resolveTarget(service, decodeURIComponent(segments[1])).target, undefined);
    }
    const key = keyed ? decodeURIComponent(segments[1]) : undefined;
    const rest = segments.slice(keyed ? 2 : 1);
    const send = rest.length === 2 && rest[1] === "send";
    if (rest.length !== 1 && !send) throw badPath();
    const resolved = schema.resolveTarget(service, decodeURIComponent(rest[0]));
    requireKey(resolved.target, key);
    return { target: { ...resolved.target, ...(key !== undefined ? { key } : {}) }, handler: resolved.handler, send };
  }
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

function writeResult(res: ServerResponse, id: string, handler: HandlerSchema, result: InvocationResult): void {
  if (res.writableEnded || res.destroyed) return;
  if (result.kind === "success") {
    const headers: Record<string, string | number> = { "x-restate-id": id, "content-length": result.value.length };
    if (handler.outputContentType && result.value.length > 0) headers["content-type"] = handler.outputContentType;
    res.writeHead(200, headers);
    res.end(Buffer.from(result.value));
    return;
  }
  const status = result.code >= 400 && result.code < 600 ? result.code : 500;
  sendJson(res, status, { code: result.code, message: result.message, source: "invocation" }, { "x-restate-id": id });
}
