import type { DeploymentSchema, HandlerSchema, RetryPolicyOverrides, ServiceSchema } from "../schema/schema.ts";

/** Restate's admin API spells enums in PascalCase and fields in snake_case; so do we. */
const SERVICE_TY = { SERVICE: "Service", VIRTUAL_OBJECT: "VirtualObject", WORKFLOW: "Workflow" } as const;
const HANDLER_TY = { EXCLUSIVE: "Exclusive", SHARED: "Shared", WORKFLOW: "Workflow" } as const;

const humanDuration = (ms: number | undefined) => (ms === undefined ? undefined : friendlyDuration(ms));

const FRIENDLY_UNITS: readonly [string, number][] = [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000], ["ms", 1]];

/** A duration as Restate prints it (jiff's compact friendly format): `1d`, `1h 30m`, `500ms`, `0s`. */
export function friendlyDuration(ms: number): string {
  let rest = Math.round(ms);
  const parts: string[] = [];
  for (const [unit, size] of FRIENDLY_UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.length > 0 ? parts.join(" ") : "0s";
}

export function handlerJson(h: HandlerSchema) {
  return {
    name: h.name,
    ty: HANDLER_TY[h.ty],
    input_description: h.inputContentType === undefined ? "none" : `one of ["${h.inputContentType}"]`,
    output_description: h.outputContentType ?? "none",
    public: !(h.ingressPrivate ?? false),
    ...(h.inputJsonSchema !== undefined ? { input_json_schema: h.inputJsonSchema } : {}),
    ...(h.outputJsonSchema !== undefined ? { output_json_schema: h.outputJsonSchema } : {}),
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
    ...(s.ty === "WORKFLOW" ? { workflow_completion_retention: humanDuration(s.workflowCompletionRetentionMs ?? s.handlers.find((h) => h.ty === "WORKFLOW")?.workflowCompletionRetentionMs ?? 24 * 3600 * 1000) } : {}),
    ...(s.journalRetentionMs !== undefined ? { journal_retention: humanDuration(s.journalRetentionMs) } : {}),
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
