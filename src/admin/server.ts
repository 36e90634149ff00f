import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listenOn } from "../common/http-server.ts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { readBody, sendError, sendJson } from "../common/http-util.ts";
import { BadRequestError, NotFoundError, RepriseError } from "../types/errors.ts";
import type { DeploymentRegistry } from "./deployments.ts";
import { serviceJson } from "./rest-model.ts";

export interface AdminOptions {
  readonly port: number;
  readonly host: string;
  readonly registry: DeploymentRegistry;
  readonly metrics: Registry;
  readonly logger: Logger;
  /** The `publickeyv1_...` key SDK endpoints verify Reprise's requests with. */
  readonly requestIdentityPublicKey?: string;
  /** Extra routes (deployments, introspection, invocation management) mounted by other subsystems. */
  readonly routes?: readonly AdminRoute[];
}

/** What a route learns about the request besides its path: the admin API version in its prefix (0 without one). */
export interface RouteContext {
  readonly apiVersion: number;
}

export interface AdminRoute {
  readonly method: string;
  readonly pattern: RegExp;
  handle(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray, body: Buffer, ctx: RouteContext): Promise<void>;
}

const JSON_LIMIT = 1024 * 1024;
const MIN_ADMIN_API_VERSION = 1;
const MAX_ADMIN_API_VERSION = 3;
/** Clients (the `restate` CLI) prefix paths with the API version they negotiated through /version, e.g. /v2/services. */
const API_VERSION_PREFIX = /^\/v(\d+)(?=\/|$)/;

/** The operator-facing HTTP API on the admin port, shaped like Restate's admin API. */
export class AdminServer {
  private readonly server: http.Server;
  private readonly routes: AdminRoute[];

  constructor(private readonly o: AdminOptions) {
    this.routes = [...this.builtinRoutes(), ...(o.routes ?? [])];
    this.server = http.createServer((req, res) => {
      this.dispatch(req, res).catch((e) => sendError(res, e));
    });
  }

  listen(): Promise<number> {
    return listenOn(this.server, this.o.port, this.o.host);
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { path: versionless, apiVersion } = stripApiVersion(new URL(req.url ?? "/", "http://admin").pathname);
    const path = versionless.replace(/\/+$/, "") || "/";
    let pathMatched = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const body = req.method === "GET" || req.method === "HEAD" ? Buffer.alloc(0) : await readBody(req, JSON_LIMIT);
      return route.handle(req, res, m, body, { apiVersion });
    }
    if (pathMatched) throw new RepriseError("method_not_allowed", `method ${req.method} not allowed on ${path}`, false, 405);
    throw new NotFoundError(`no such admin endpoint: ${req.method} ${path}`);
  }

  private builtinRoutes(): AdminRoute[] {
    const { registry } = this.o;
    const route = (method: string, pattern: RegExp, handle: AdminRoute["handle"]): AdminRoute => ({ method, pattern, handle });
    return [
      route("GET", /^\/health$/, async (_q, res) => sendJson(res, 200, {})),
      route("GET", /^\/version$/, async (_q, res) =>
        sendJson(res, 200, {
          version: "0.1.0",
          min_admin_api_version: MIN_ADMIN_API_VERSION,
          max_admin_api_version: MAX_ADMIN_API_VERSION,
          // Required by the CLI's parser; Reprise has no experimental features to announce.
          features: {},
        }),
      ),
      route("GET", /^\/metrics$/, async (_q, res) => {
        const text = await this.o.metrics.metrics();
        res.writeHead(200, { "content-type": this.o.metrics.contentType });
        res.end(text);
      }),
      route("GET", /^\/request-identity$/, async (_q, res) => {
        if (this.o.requestIdentityPublicKey === undefined) throw new NotFoundError("this server does not sign requests to deployments", "request_identity_disabled");
        sendJson(res, 200, { scheme: "v1", public_key: this.o.requestIdentityPublicKey });
      }),
      route("GET", /^\/services$/, async (_q, res) => sendJson(res, 200, { services: registry.schema.listServices().map(serviceJson) })),
      route("GET", /^\/services\/([^/]+)$/, async (_q, res, m) => {
        const s = registry.schema.service(decodeURIComponent(m[1]));
        if (!s) throw new NotFoundError(`service '${decodeURIComponent(m[1])}' not found`, "service_not_found");
        sendJson(res, 200, serviceJson(s));
      }),
      route("GET", /^\/services\/([^/]+)\/handlers$/, async (_q, res, m) => {
        const s = registry.schema.service(decodeURIComponent(m[1]));
        if (!s) throw new NotFoundError(`service '${decodeURIComponent(m[1])}' not found`, "service_not_found");
        sendJson(res, 200, { handlers: serviceJson(s).handlers });
      }),
    ];
  }
}

function stripApiVersion(path: string): { path: string; apiVersion: number } {
  const m = API_VERSION_PREFIX.exec(path);
  if (!m) return { path, apiVersion: 0 };
  const version = Number(m[1]);
  if (version < MIN_ADMIN_API_VERSION || version > MAX_ADMIN_API_VERSION) {
    throw new NotFoundError(`admin API version ${version} is not supported (supported: ${MIN_ADMIN_API_VERSION}..${MAX_ADMIN_API_VERSION})`, "unsupported_api_version");
  }
  return { path: path.slice(m[0].length) || "/", apiVersion: version };
}

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (e) {
    throw new BadRequestError(`request body is not valid JSON: ${(e as Error).message}`, "malformed_json");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new BadRequestError("request body must be a JSON object", "malformed_json");
  return parsed as Record<string, unknown>;
}
