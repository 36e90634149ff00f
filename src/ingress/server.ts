import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import { closeServer, listenOn } from "../common/http-server.ts";
import { readBody, sendJson } from "../common/http-util.ts";
import type { InvocationTracing } from "../common/invocation-tracing.ts";
import { parseAwakeableId } from "../partition/awakeable-id.ts";
import type { InvocationDispatcher } from "../partition/dispatcher.ts";
import type { RetentionDefaults } from "../schema/retention.ts";
import type { SchemaView } from "../schema/schema.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../types/errors.ts";
import { attachTo, parseTargetBody, queryInvocationId } from "./attach.ts";
import { CorsPolicy } from "./cors.ts";
import { MethodNotAllowedError } from "./errors.ts";
import { normalizePath, parseRoute, type IngressRoute } from "./paths.ts";
import { writeIngressError } from "./responses.ts";
import { handleServiceRequest } from "./service-call.ts";

export interface IngressOptions {
  readonly port: number;
  readonly host: string;
  readonly bodyLimitBytes: number;
  /** `*` (any origin, as Restate) or `scheme://host[:port]` entries; see `CorsPolicy`. */
  readonly corsAllowedOrigins: readonly string[];
  readonly schema: () => SchemaView;
  /** Retention of invocations whose handler sets none. */
  readonly retention: RetentionDefaults;
  readonly dispatcher: InvocationDispatcher;
  /** Spans of ingress requests; the trace context of the invocations they propose. */
  readonly tracing: InvocationTracing;
  readonly logger: Logger;
}

/** The client-facing HTTP API, answering as restate-server 1.7's ingress does (routes in `paths.ts`). */
export class IngressServer {
  private readonly server: http.Server;
  private readonly log: Logger;
  private readonly cors: CorsPolicy;

  constructor(private readonly o: IngressOptions) {
    this.log = o.logger.child({ component: "ingress" });
    this.cors = new CorsPolicy(o.corsAllowedOrigins);
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        this.log.debug({ err: e, method: req.method, url: req.url }, "ingress request refused");
        writeIngressError(res, e);
      });
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
    if (req.method === "OPTIONS") return this.cors.answerPreflight(req, res);
    this.cors.decorate(req, res);
    // The raw path: WHATWG URL parsing would resolve `%2e%2e` and re-encode keys.
    const raw = req.url ?? "/";
    const queryAt = raw.indexOf("?");
    const query = new URLSearchParams(queryAt < 0 ? "" : raw.slice(queryAt + 1));
    const schema = this.o.schema();
    const route = parseRoute(normalizePath(queryAt < 0 ? raw : raw.slice(0, queryAt)), schema);
    const ctx = { schema, retention: this.o.retention, dispatcher: this.o.dispatcher, bodyLimitBytes: this.o.bodyLimitBytes, tracing: this.o.tracing };
    switch (route.kind) {
      case "health":
        requireMethod(req, "GET");
        return sendJson(res, 200, { services: schema.listServices().map((s) => s.name) });
      case "service":
        return handleServiceRequest(ctx, req, res, route.request, query);
      case "awakeable":
        return this.completeAwakeable(req, res, route);
      case "attach":
      case "output":
        requireMethod(req, "GET");
        return attachTo(ctx, res, queryInvocationId(route.query), route.kind);
      case "attach-by-target":
      case "output-by-target": {
        requireMethod(req, "POST");
        const target = parseTargetBody(await readBody(req, this.o.bodyLimitBytes), "request");
        return attachTo(ctx, res, queryInvocationId(target), route.kind === "attach-by-target" ? "attach" : "output");
      }
      case "lookup": {
        requireMethod(req, "POST");
        const target = parseTargetBody(await readBody(req, this.o.bodyLimitBytes), "lookup");
        return sendJson(res, 200, { invocationId: queryInvocationId(target) });
      }
    }
  }

  /**
   * Resolve or reject by awakeable id. Stricter than Restate, which accepts any well-formed id:
   * an id whose invocation is gone is a 404 and a second completion a 409, instead of a silent 202.
   */
  private async completeAwakeable(req: IncomingMessage, res: ServerResponse, route: Extract<IngressRoute, { kind: "awakeable" }>): Promise<void> {
    requireMethod(req, "POST");
    const body = await readBody(req, this.o.bodyLimitBytes);
    const parsed = parseAwakeableId(route.awakeableId);
    if (!parsed) throw new BadRequestError(`bad awakeable id '${route.awakeableId}': expected 'sign_1' followed by base64url of 28 bytes`, "bad_awakeable_id");
    const status = await this.o.dispatcher.readStatus(parsed.invocationId);
    if (!status) throw new NotFoundError(`awakeable '${route.awakeableId}' not found: its invocation does not exist`, "awakeable_not_found");
    if (status.status === "completed" || (status.deliveredSignals ?? []).includes(parsed.signalIdx)) {
      throw new ConflictError(`awakeable '${route.awakeableId}' was already completed`, "awakeable_already_completed");
    }
    await this.o.dispatcher.propose(parsed.invocationId, {
      t: "signal",
      target: parsed.invocationId,
      signal: { idx: parsed.signalIdx },
      result: route.action === "resolve" ? { kind: "success", value: body } : { kind: "failure", code: 500, message: body.toString("utf8") },
    });
    res.writeHead(202, { "content-length": 0 }).end();
  }
}

function requireMethod(req: IncomingMessage, method: "GET" | "POST"): void {
  if (req.method !== method) throw new MethodNotAllowedError(method);
}
