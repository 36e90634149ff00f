import { RepriseError } from "../../types/errors.ts";
import type { AdminRoute } from "../admin-route.ts";
import { ADMIN_OPERATIONS, PATH_PARAMETERS, type AdminOperation } from "./admin-operations.ts";
import { ADMIN_SCHEMAS } from "./admin-schemas.ts";

type Json = Record<string, unknown>;

export interface AdminDocumentOptions {
  readonly version: string;
  readonly minApiVersion: number;
  readonly maxApiVersion: number;
}

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: "Bad request: a parameter or the body is invalid (the message names it)",
  404: "Not found",
  405: "Method not allowed",
  409: "Conflict with the current state",
  410: "Gone",
  422: "Unprocessable",
  425: "Too early",
  500: "Internal error",
  501: "Not implemented by Reprise",
  503: "Unavailable (no leader yet, shutting down): retry",
};

/**
 * Reprise's admin OpenAPI document (`GET /openapi`): the operations of `ADMIN_OPERATIONS` the
 * server mounts a route for. A mounted route no operation describes is listed under
 * `x-undocumented-routes`, so the document never hides what the server serves (a test keeps
 * that list empty).
 */
export function adminDocument(routes: readonly AdminRoute[], o: AdminDocumentOptions): Json {
  const served = ADMIN_OPERATIONS.filter((op) => routes.some((r) => describes(op, r)));
  const paths: Record<string, Record<string, Json>> = {};
  for (const op of served) (paths[op.path] ??= {})[op.method.toLowerCase()] = operationJson(op);
  const undocumented = routes.filter((r) => !ADMIN_OPERATIONS.some((op) => describes(op, r)));
  return {
    openapi: "3.1.0",
    info: {
      title: "Reprise admin API",
      version: o.version,
      description:
        "The admin API of Reprise, shaped like restate-server 1.7's: deployments, services, invocation management, SQL introspection, " +
        `plus Reprise's own operations (x-reprise). Every path may be prefixed with the admin API version, /v${o.minApiVersion} to /v${o.maxApiVersion}; ` +
        "without one it is the latest. Errors are JSON { code, message } naming the problem.",
    },
    paths,
    components: {
      schemas: ADMIN_SCHEMAS,
      responses: Object.fromEntries(Object.entries(ERROR_DESCRIPTIONS).map(([status, description]) => [`Error${status}`, errorResponse(description)])),
    },
    ...(undocumented.length > 0 ? { "x-undocumented-routes": undocumented.map((r) => ({ method: r.method, pattern: r.pattern.source })) } : {}),
  };
}

/** Routes answering 501 for the operations Reprise does not implement, each naming what is missing. */
export function notImplementedRoutes(): AdminRoute[] {
  return ADMIN_OPERATIONS.filter((op) => op.notImplemented).map((op) => ({
    method: op.method,
    pattern: templatePattern(op.path),
    async handle() {
      throw new RepriseError("not_implemented", `${op.method} ${op.path}: ${op.summary}`, false, 501);
    },
  }));
}

/** The path with each `{parameter}` replaced by its example. */
export function examplePath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(PATH_PARAMETERS[name]?.example ?? name));
}

function describes(op: AdminOperation, route: AdminRoute): boolean {
  return op.method === route.method && route.pattern.test(examplePath(op.path));
}

function templatePattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "([^/]+)");
  return new RegExp(`^${escaped}$`);
}

function operationJson(op: AdminOperation): Json {
  const pathParameters = [...op.path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => {
    const p = PATH_PARAMETERS[name!];
    return { name, in: "path", required: true, description: p?.description, schema: p?.schema ?? { type: "string" }, example: p?.example };
  });
  const query = (op.query ?? []).map((q) => ({ name: q.name, in: "query", required: false, description: q.description, schema: q.schema }));
  const ok = Object.fromEntries(
    Object.entries(op.ok).map(([status, schema]) => [
      status,
      schema === "" ? { description: "Success" } : { description: "Success", content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } } },
    ]),
  );
  const errors = Object.fromEntries((op.errors ?? []).map((status) => [String(status), { $ref: `#/components/responses/Error${status}` }]));
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(pathParameters.length + query.length > 0 ? { parameters: [...pathParameters, ...query] } : {}),
    ...(op.body ? { requestBody: { required: op.bodyRequired ?? false, content: { "application/json": { schema: { $ref: `#/components/schemas/${op.body}` } } } } } : {}),
    responses: { ...ok, ...errors },
    ...(op.reprise ? { "x-reprise": true } : {}),
    ...(op.notImplemented ? { "x-not-implemented": true } : {}),
  };
}

function errorResponse(description: string): Json {
  return { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
}
