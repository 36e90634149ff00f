import type { EndpointManifest } from "../protocol/manifest.ts";
import { ConflictError, NotFoundError } from "../types/errors.ts";
import {
  payloadSchema,
  retryPolicyOf,
  type DeploymentSchema,
  type HandlerOwnSetting,
  type HandlerSchema,
  type HttpVersion,
  type SchemaRegistry,
  type ServiceSchema,
} from "./schema.ts";

/**
 * The registry changes the admin API makes, as pure functions of (registry, request): registration
 * runs them inside a compare-and-swap loop (and a dry run runs them without writing), so what a dry
 * run answers is what the registration does. Semantics follow Restate 1.7's schema updater.
 */

/** What discovery found at a deployment's address, with the connection settings given at registration. */
export interface DiscoveredDeployment {
  readonly uri: string;
  readonly additionalHeaders: Readonly<Record<string, string>>;
  readonly httpVersion: HttpVersion;
  readonly manifest: EndpointManifest;
  readonly protocolVersion: number;
  readonly sdkVersion?: string;
}

/** `unchanged`: a deployment with this address exists and overwriting was not asked for. */
export type RegistrationResult = "created" | "unchanged" | "overwritten";

export interface RegistrationChange {
  readonly result: RegistrationResult;
  readonly registry: SchemaRegistry;
  readonly deployment: DeploymentSchema;
  readonly services: readonly ServiceSchema[];
}

/** A registration would change a service's type: Restate refuses it unless breaking changes are allowed. */
export class BreakingChangeError extends ConflictError {
  constructor(message: string) {
    super(message, "breaking_change");
  }
}

const TYPE_NAME = { SERVICE: "service", VIRTUAL_OBJECT: "virtual object", WORKFLOW: "workflow" } as const;

/** The newest deployment registered at `uri` (Restate matches address and headers by address here). */
export function deploymentAt(registry: SchemaRegistry, uri: string): DeploymentSchema | undefined {
  return registry.deployments.filter((d) => d.uri === uri).sort((a, b) => b.createdAt - a.createdAt)[0];
}

/**
 * Registers a discovered deployment. An existing deployment at the same address is kept as it is
 * (`unchanged`) unless `overwrite`, which replaces its services under the same id. A service whose
 * active revision has another type is refused unless `allowBreaking`. Each service gets the next
 * revision after its active one.
 */
export function addDeployment(
  registry: SchemaRegistry,
  d: DiscoveredDeployment,
  opts: { readonly overwrite: boolean; readonly allowBreaking: boolean; readonly newId: string; readonly now: number; readonly metadata?: Readonly<Record<string, string>> },
): RegistrationChange {
  const existing = deploymentAt(registry, d.uri);
  if (existing && !opts.overwrite) {
    return { result: "unchanged", registry, deployment: existing, services: registry.services.filter((s) => s.deploymentId === existing.id) };
  }
  const id = existing?.id ?? opts.newId;
  const others = registry.services.filter((s) => s.deploymentId !== id);
  const active = activeRevisions(registry.services);
  const services = d.manifest.services.map((m) => {
    const previous = active.get(m.name);
    if (previous && previous.ty !== m.ty && !opts.allowBreaking) {
      throw new BreakingChangeError(
        `detected a new service revision for '${m.name}' changing the service type from previous revision (${TYPE_NAME[previous.ty]} in deployment ${previous.deploymentId} → ${TYPE_NAME[m.ty]}). Service type cannot be changed across revisions; register with breaking=true (restate deployments register --breaking) to allow it`,
      );
    }
    return toServiceSchema(m, id, (previous?.revision ?? 0) + 1);
  });
  const deployment: DeploymentSchema = {
    ...connection(d),
    id,
    minProtocolVersion: d.manifest.minProtocolVersion,
    maxProtocolVersion: d.manifest.maxProtocolVersion,
    protocolVersion: d.protocolVersion,
    services: services.map((s) => ({ name: s.name, revision: s.revision })),
    createdAt: opts.now,
    ...(opts.metadata && Object.keys(opts.metadata).length > 0 ? { metadata: opts.metadata } : {}),
  };
  return {
    result: existing ? "overwritten" : "created",
    registry: { deployments: [...registry.deployments.filter((x) => x.id !== id), deployment], services: [...others, ...services] },
    deployment,
    services,
  };
}

/**
 * PATCH of a deployment: its address, HTTP version and headers change, rediscovered at the new
 * address, which must speak the same protocol versions. Services stay as registered unless
 * `overwrite`, which takes them from the new manifest at the same revisions.
 */
export function updateDeployment(
  registry: SchemaRegistry,
  id: string,
  d: DiscoveredDeployment,
  opts: { readonly overwrite: boolean },
): { readonly registry: SchemaRegistry; readonly deployment: DeploymentSchema; readonly services: readonly ServiceSchema[] } {
  const existing = registry.deployments.find((x) => x.id === id);
  if (!existing) throw new NotFoundError(`deployment '${id}' not found`, "deployment_not_found");
  const { minProtocolVersion: min, maxProtocolVersion: max } = d.manifest;
  if (min !== existing.minProtocolVersion || max !== existing.maxProtocolVersion) {
    throw new ConflictError(
      `an update of deployment ${id} must keep the supported service protocol versions: the endpoint at ${d.uri} supports [${min}, ${max}], the deployment [${existing.minProtocolVersion}, ${existing.maxProtocolVersion}]`,
      "protocol_versions_changed",
    );
  }
  const kept = registry.services.filter((s) => s.deploymentId === id);
  const services = opts.overwrite
    ? d.manifest.services.map((m) => toServiceSchema(m, id, kept.find((s) => s.name === m.name)?.revision ?? 1))
    : kept;
  const deployment: DeploymentSchema = {
    ...existing,
    ...connection(d),
    services: services.map((s) => ({ name: s.name, revision: s.revision })),
  };
  return {
    registry: {
      deployments: registry.deployments.map((x) => (x.id === id ? deployment : x)),
      services: [...registry.services.filter((s) => s.deploymentId !== id), ...services],
    },
    deployment,
    services,
  };
}

/** The registry without a deployment and the service revisions it served; an older revision may become active again. */
export function removeDeployment(registry: SchemaRegistry, id: string): SchemaRegistry {
  return { deployments: registry.deployments.filter((d) => d.id !== id), services: registry.services.filter((s) => s.deploymentId !== id) };
}

function connection(d: DiscoveredDeployment): Pick<DeploymentSchema, "uri" | "protocolMode" | "httpVersion" | "additionalHeaders" | "sdkVersion"> {
  return {
    uri: d.uri,
    protocolMode: d.manifest.protocolMode,
    httpVersion: d.httpVersion,
    additionalHeaders: d.additionalHeaders,
    ...(d.sdkVersion ? { sdkVersion: d.sdkVersion } : {}),
  };
}

function activeRevisions(services: readonly ServiceSchema[]): Map<string, ServiceSchema> {
  const active = new Map<string, ServiceSchema>();
  for (const s of services) {
    const current = active.get(s.name);
    if (!current || current.revision < s.revision) active.set(s.name, s);
  }
  return active;
}

function toServiceSchema(s: EndpointManifest["services"][number], deploymentId: string, revision: number): ServiceSchema {
  const handlers: HandlerSchema[] = s.handlers.map((h) => ({
    name: h.name,
    ty: h.ty ?? (s.ty === "VIRTUAL_OBJECT" ? "EXCLUSIVE" : s.ty === "WORKFLOW" ? "SHARED" : "EXCLUSIVE"),
    ...payloadSchema(h.input, h.output),
    ...optional("inactivityTimeoutMs", h.inactivityTimeout ?? s.inactivityTimeout),
    ...optional("abortTimeoutMs", h.abortTimeout ?? s.abortTimeout),
    ...optional("journalRetentionMs", h.journalRetention ?? s.journalRetention),
    ...optional("idempotencyRetentionMs", h.idempotencyRetention ?? s.idempotencyRetention),
    ...optional("workflowCompletionRetentionMs", h.workflowCompletionRetention),
    ...optional("ingressPrivate", h.ingressPrivate ?? s.ingressPrivate),
    ...optional("retryPolicy", retryPolicyOf(h)),
    ...optional("enableLazyState", h.enableLazyState ?? s.enableLazyState),
    ...optional("documentation", h.documentation),
    ...optional("metadata", h.metadata),
    ownSettings: ownSettings(h),
  }));
  return {
    name: s.name,
    ty: s.ty,
    handlers,
    deploymentId,
    revision,
    public: !(s.ingressPrivate ?? false),
    ...optional("inactivityTimeoutMs", s.inactivityTimeout),
    ...optional("abortTimeoutMs", s.abortTimeout),
    ...optional("journalRetentionMs", s.journalRetention),
    ...optional("idempotencyRetentionMs", s.idempotencyRetention),
    ...optional("retryPolicy", retryPolicyOf(s)),
    ...optional("enableLazyState", s.enableLazyState),
    ...optional("documentation", s.documentation),
    ...optional("metadata", s.metadata),
  };
}

function ownSettings(h: EndpointManifest["services"][number]["handlers"][number]): HandlerOwnSetting[] {
  const declared: [HandlerOwnSetting, unknown][] = [
    ["ingressPrivate", h.ingressPrivate],
    ["inactivityTimeoutMs", h.inactivityTimeout],
    ["abortTimeoutMs", h.abortTimeout],
    ["journalRetentionMs", h.journalRetention],
    ["idempotencyRetentionMs", h.idempotencyRetention],
    ["workflowCompletionRetentionMs", h.workflowCompletionRetention],
  ];
  return declared.filter(([, v]) => v !== undefined).map(([k]) => k);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
