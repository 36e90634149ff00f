import { BadRequestError, NotFoundError } from "../types/errors.ts";
import type { HandlerOwnSetting, HandlerSchema, SchemaRegistry, ServiceSchema } from "./schema.ts";

/**
 * What an operator may change on a registered service (Restate's `ModifyServiceRequest`); an
 * absent field stays as it is. A later registration of the service takes its settings from the
 * manifest again, as in Restate.
 */
export interface ServiceConfigChange {
  readonly public?: boolean;
  readonly idempotencyRetentionMs?: number;
  /** Workflows only. */
  readonly workflowCompletionRetentionMs?: number;
  readonly journalRetentionMs?: number;
  readonly inactivityTimeoutMs?: number;
  readonly abortTimeoutMs?: number;
}

type Setting = "idempotencyRetentionMs" | "journalRetentionMs" | "inactivityTimeoutMs" | "abortTimeoutMs" | "workflowCompletionRetentionMs";
const SETTINGS: readonly Setting[] = ["idempotencyRetentionMs", "journalRetentionMs", "inactivityTimeoutMs", "abortTimeoutMs", "workflowCompletionRetentionMs"];

/**
 * The registry with `change` made to every stored revision of service `name` (an invocation pinned
 * to an older deployment runs on its revision, and should see the same settings).
 *
 * Handlers carry their effective settings (their own, else the service's, merged at registration),
 * so a handler follows a service-level change unless its manifest declared that setting itself: a
 * handler's own value overrides its service's, as in Restate.
 */
export function modifyServiceConfig(registry: SchemaRegistry, name: string, change: ServiceConfigChange): SchemaRegistry {
  const revisions = registry.services.filter((s) => s.name === name);
  if (revisions.length === 0) throw new NotFoundError(`The requested service '${name}' does not exist`, "service_not_found");
  const ty = revisions[0]!.ty;
  if (change.workflowCompletionRetentionMs !== undefined && ty !== "WORKFLOW") {
    throw new BadRequestError(`workflow_completion_retention applies to workflows only; '${name}' is a ${ty === "SERVICE" ? "Service" : "VirtualObject"}`, "not_a_workflow");
  }
  return { ...registry, services: registry.services.map((s) => (s.name === name ? modifyRevision(s, change) : s)) };
}

function modifyRevision(s: ServiceSchema, change: ServiceConfigChange): ServiceSchema {
  const handlers = s.handlers.map((h) => modifyHandler(h, s, change));
  const next: Record<string, unknown> = { ...s, handlers };
  if (change.public !== undefined) next.public = change.public;
  for (const key of SETTINGS) if (change[key] !== undefined) next[key] = change[key];
  return next as unknown as ServiceSchema;
}

function modifyHandler(h: HandlerSchema, s: ServiceSchema, change: ServiceConfigChange): HandlerSchema {
  const next: Record<string, unknown> = { ...h };
  if (change.public !== undefined && inherits(h, "ingressPrivate", (h.ingressPrivate ?? false) === !s.public)) {
    if (change.public) delete next.ingressPrivate;
    else next.ingressPrivate = true;
  }
  for (const key of SETTINGS) {
    const value = change[key];
    if (value === undefined) continue;
    // The completion retention of a workflow belongs to its run handler only.
    if (key === "workflowCompletionRetentionMs" && h.ty !== "WORKFLOW") continue;
    if (inherits(h, key, h[key] === undefined || h[key] === s[key])) next[key] = value;
  }
  return next as unknown as HandlerSchema;
}

/**
 * Whether the handler took `setting` from its service. Registries written before handlers
 * recorded their own settings tell only by value: the same as the service's (or unset) is taken to be inherited.
 */
function inherits(h: HandlerSchema, setting: HandlerOwnSetting, sameAsService: boolean): boolean {
  return h.ownSettings !== undefined ? !h.ownSettings.includes(setting) : sameAsService;
}
