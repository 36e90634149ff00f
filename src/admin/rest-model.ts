import type { DeploymentSchema, HandlerSchema, RetryPolicyOverrides, ServiceSchema } from "../schema/schema.ts";

/** Restate's admin API spells enums in PascalCase and fields in snake_case; so do we. */
const SERVICE_TY = { SERVICE: "Service", VIRTUAL_OBJECT: "VirtualObject", WORKFLOW: "Workflow" } as const;
const HANDLER_TY = { EXCLUSIVE: "Exclusive", SHARED: "Shared", WORKFLOW: "Workflow" } as const;

const humanDuration = (ms: number | undefined) => (ms === undefined ? undefined : `${Math.round(ms / 1000)}s`);

export function handlerJson(h: HandlerSchema) {
  return {
    name: h.name,
    ty: HANDLER_TY[h.ty],
    input_description: h.inputContentType === undefined ? "none" : `one of ["${h.inputContentType}"]`,
    output_description: h.outputContentType ?? "none",
    public: !(h.ingressPrivate ?? false),
    ...(h.documentation ? { documentation: h.documentation } : {}),
    metadata: h.metadata ?? {},
    ...(h.inactivityTimeoutMs !== undefined ? { inactivity_timeout: humanDuration(h.inactivityTimeoutMs) } : {}),
    ...(h.abortTimeoutMs !== undefined ? { abort_timeout: humanDuration(h.abortTimeoutMs) } : {}),
    ...(h.journalRetentionMs !== undefined ? { journal_retention: humanDuration(h.journalRetentionMs) } : {}),
    ...(h.idempotencyRetentionMs !== undefined ? { idempotency_retention: humanDuration(h.idempotencyRetentionMs) } : {}),
    ...(h.retryPolicy !== undefined ? { retry_policy: retryPolicyJson(h.retryPolicy) } : {}),
  };
}

/** The retry settings a handler declares, as Restate lists them (only those set; durations in its friendly format). */
function retryPolicyJson(p: RetryPolicyOverrides) {
  return {
    ...(p.initialIntervalMs !== undefined ? { initial_interval: `${p.initialIntervalMs}ms` } : {}),
    ...(p.factor !== undefined ? { exponentiation_factor: p.factor } : {}),
    ...(p.maxAttempts !== undefined ? { max_attempts: p.maxAttempts } : {}),
    ...(p.maxIntervalMs !== undefined ? { max_interval: `${p.maxIntervalMs}ms` } : {}),
    ...(p.onMaxAttempts !== undefined ? { on_max_attempts: p.onMaxAttempts === "pause" ? "Pause" : "Kill" } : {}),
  };
}

export function serviceJson(s: ServiceSchema) {
  return {
    name: s.name,
    handlers: s.handlers.map(handlerJson),
    ty: SERVICE_TY[s.ty],
    deployment_id: s.deploymentId,
    revision: s.revision,
    public: s.public,
    idempotency_retention: humanDuration(s.idempotencyRetentionMs ?? 24 * 3600 * 1000),
    ...(s.ty === "WORKFLOW" ? { workflow_completion_retention: humanDuration(24 * 3600 * 1000) } : {}),
    ...(s.inactivityTimeoutMs !== undefined ? { inactivity_timeout: humanDuration(s.inactivityTimeoutMs) } : {}),
    ...(s.abortTimeoutMs !== undefined ? { abort_timeout: humanDuration(s.abortTimeoutMs) } : {}),
    ...(s.documentation ? { documentation: s.documentation } : {}),
    metadata: s.metadata ?? {},
  };
}

export function deploymentJson(d: DeploymentSchema, services: ServiceSchema[]) {
  return {
    id: d.id,
    uri: d.uri,
    protocol_type: d.protocolMode === "BIDI_STREAM" ? "BidiStream" : "RequestResponse",
    http_version: d.httpVersion ?? "HTTP/2.0",
    additional_headers: d.additionalHeaders,
    metadata: d.metadata ?? {},
    created_at: new Date(d.createdAt).toISOString(),
    min_protocol_version: d.minProtocolVersion,
    max_protocol_version: d.maxProtocolVersion,
    ...(d.sdkVersion ? { sdk_version: d.sdkVersion } : {}),
    services: services.map(serviceJson),
  };
}
