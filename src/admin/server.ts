import http, { type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listenOn } from "../common/http-server.ts";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { readBody, sendError, sendJson } from "../common/http-util.ts";
import { BadRequestError, NotFoundError, RepriseError } from "../types/errors.ts";
import type { AdminRoute } from "./admin-route.ts";
import type { DeploymentRegistry } from "./deployments.ts";
import { adminDocument, notImplementedRoutes } from "./openapi/admin-document.ts";
import { serviceRoutes } from "./services.ts";

// Route files import these from here; they live apart so the files this server mounts itself do not import it back.
export { parseJsonObject, type AdminRoute, type RouteContext } from "./admin-route.ts";

export interface AdminOptions {
  readonly port: number;
  readonly host: string;
  readonly registry: DeploymentRegistry;
  readonly metrics: Registry;
  readonly logger: Logger;
  /** The `publickeyv1_...` key SDK endpoints verify Reprise's requests with. */
  readonly requestIdentityPublicKey?: string;
  /** The ingress URL clients call (`/version`'s `ingress_endpoint`, the `servers` of service OpenAPI documents). */
  readonly ingressEndpoint?: () => string | undefined;
  /** Extra routes (deployments, introspection, invocation management) mounted by other subsystems. */
  readonly routes?: readonly AdminRoute[];
}


const JSON_LIMIT = 1024 * 1024;
const VERSION = "0.1.0";
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
          version: VERSION,
          min_admin_api_version: MIN_ADMIN_API_VERSION,
          max_admin_api_version: MAX_ADMIN_API_VERSION,
          ...(this.o.ingressEndpoint?.() !== undefined ? { ingress_endpoint: this.o.ingressEndpoint() } : {}),
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
      route("GET", /^\/openapi$/, async (_q, res) =>
        sendJson(res, 200, adminDocument(this.routes, { version: VERSION, minApiVersion: MIN_ADMIN_API_VERSION, maxApiVersion: MAX_ADMIN_API_VERSION })),
      ),
      ...serviceRoutes({ registry, ingressEndpoint: () => this.o.ingressEndpoint?.() }),
      ...notImplementedRoutes(),
    ];
  }
}

function stripApiVersion(path: string): { path: string; apiVersion: number } {
  const m = API_VERSION_PREFIX.exec(path);
  if (!m) return { path, apiVersion: 0 };
  const version = Number(m[1]);
  const supported = `supported: ${MIN_ADMIN_API_VERSION}..${MAX_ADMIN_API_VERSION}`;
  // As Restate: a version older than the oldest supported is a bad request, a newer one a path that does not exist (yet).
  if (version < MIN_ADMIN_API_VERSION) throw new BadRequestError(`admin API version ${version} is not supported (${supported})`, "unsupported_api_version");
  if (version > MAX_ADMIN_API_VERSION) throw new NotFoundError(`admin API version ${version} is not supported (${supported})`, "unsupported_api_version");
  return { path: path.slice(m[0].length) || "/", apiVersion: version };
}
