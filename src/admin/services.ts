import { parseDuration, sendJson } from "../common/http-util.ts";
import { MAX_DELAY_DAYS } from "../ingress/delay.ts";
import type { ServiceSchema } from "../schema/schema.ts";
import type { ServiceConfigChange } from "../schema/service-config.ts";
import { BadRequestError, NotFoundError } from "../types/errors.ts";
import type { DeploymentRegistry } from "./deployments.ts";
import { serviceOpenApi } from "./openapi/service-document.ts";
import { handlerJson, serviceJson } from "./rest-model.ts";
import { parseJsonObject, type AdminRoute } from "./admin-route.ts";

export interface ServiceRoutesOptions {
  readonly registry: DeploymentRegistry;
  /** The ingress URL clients call, for the `servers` of a service's OpenAPI document. */
  readonly ingressEndpoint: () => string | undefined;
}

/** The longest duration a setting may have: Restate's duration type stops there too. */
const MAX_DURATION_MS = MAX_DELAY_DAYS * 86_400_000;

/**
 * Restate's service API: list and describe services and their handlers, change a service's
 * settings (`PATCH`, what `restate services config edit` sends), and a service's OpenAPI document.
 */
export function serviceRoutes(o: ServiceRoutesOptions): AdminRoute[] {
  const { registry } = o;
  const service = (encoded: string): ServiceSchema => {
    const name = decodeURIComponent(encoded);
    const s = registry.schema.service(name);
    if (!s) throw new NotFoundError(`The requested service '${name}' does not exist`, "service_not_found");
    return s;
  };
  return [
    {
      method: "GET",
      pattern: /^\/services$/,
      async handle(_req, res) {
        sendJson(res, 200, { services: registry.schema.listServices().map(serviceJson) });
      },
    },
    {
      method: "GET",
      pattern: /^\/services\/([^/]+)$/,
      async handle(_req, res, m) {
        sendJson(res, 200, serviceJson(service(m[1]!)));
      },
    },
    {
      method: "PATCH",
      pattern: /^\/services\/([^/]+)$/,
      async handle(_req, res, m, body) {
        const current = service(m[1]!);
        const change = parseServiceConfigChange(parseJsonObject(body));
        const modified = Object.keys(change).length === 0 ? current : await registry.modifyService(current.name, change);
        sendJson(res, 200, serviceJson(modified));
      },
    },
    {
      method: "GET",
      pattern: /^\/services\/([^/]+)\/handlers$/,
      async handle(_req, res, m) {
        sendJson(res, 200, { handlers: service(m[1]!).handlers.map(handlerJson) });
      },
    },
    {
      method: "GET",
      pattern: /^\/services\/([^/]+)\/handlers\/([^/]+)$/,
      async handle(_req, res, m) {
        const s = service(m[1]!);
        const name = decodeURIComponent(m[2]!);
        const h = s.handlers.find((x) => x.name === name);
        if (!h) throw new NotFoundError(`The requested handler '${name}' on service '${s.name}' does not exist`, "handler_not_found");
        sendJson(res, 200, handlerJson(h));
      },
    },
    {
      method: "GET",
      pattern: /^\/services\/([^/]+)\/openapi$/,
      async handle(_req, res, m) {
        sendJson(res, 200, serviceOpenApi(service(m[1]!), o.ingressEndpoint()));
      },
    },
  ];
}

/** Restate's `ModifyServiceRequest`: absent or null fields stay as they are, other fields are ignored as Restate ignores them. */
function parseServiceConfigChange(body: Record<string, unknown>): ServiceConfigChange {
  const duration = (field: string): number | undefined => {
    const v = body[field];
    if (v === undefined || v === null) return undefined;
    const ms = typeof v === "string" ? parseDuration(v.trim()) : null;
    if (ms === null) throw new BadRequestError(`'${field}' must be a duration such as "1h", "30 minutes" or "PT1H", got ${JSON.stringify(v)}`, `invalid_${field}`);
    if (ms > MAX_DURATION_MS) throw new BadRequestError(`'${field}' is longer than the maximum of ${MAX_DELAY_DAYS} days`, `invalid_${field}`);
    return ms;
  };
  const isPublic = body.public;
  if (isPublic !== undefined && isPublic !== null && typeof isPublic !== "boolean") {
    throw new BadRequestError(`'public' must be true or false, got ${JSON.stringify(isPublic)}`, "invalid_public");
  }
  const fields: [keyof ServiceConfigChange, number | boolean | undefined][] = [
    ["public", isPublic ?? undefined],
    ["idempotencyRetentionMs", duration("idempotency_retention")],
    ["workflowCompletionRetentionMs", duration("workflow_completion_retention")],
    ["journalRetentionMs", duration("journal_retention")],
    ["inactivityTimeoutMs", duration("inactivity_timeout")],
    ["abortTimeoutMs", duration("abort_timeout")],
  ];
  return Object.fromEntries(fields.filter(([, v]) => v !== undefined)) as ServiceConfigChange;
}
