import type { HandlerType, InvocationTarget, ServiceType } from "../types/invocation.ts";
import { NotFoundError, BadRequestError } from "../types/errors.ts";
import type { InputPayload, InvocationOptions, OutputPayload } from "../protocol/manifest.ts";

export type ProtocolMode = "BIDI_STREAM" | "REQUEST_RESPONSE";
/** How Reprise reaches a deployment: HTTP/2 (h2c or h2), or HTTP/1.1 (`use_http_11`, or an endpoint without HTTP/2). */
export type HttpVersion = "HTTP/2.0" | "HTTP/1.1";

/**
 * Retry settings a service or handler declares in its manifest (Restate's `retry_policy_*`); each
 * unset field falls back from handler to service to the node's default policy.
 */
export interface RetryPolicyOverrides {
  readonly initialIntervalMs?: number;
  readonly factor?: number;
  readonly maxIntervalMs?: number;
  /** Attempts in all, the first included; 0 retries forever. */
  readonly maxAttempts?: number;
  /** What happens once the attempts are used up: the invocation pauses, or fails ("kill"). */
  readonly onMaxAttempts?: "pause" | "kill";
}

export interface HandlerSchema {
  readonly name: string;
  readonly ty: HandlerType;
  /**
   * Content type the handler accepts, wildcards allowed (`*\/*`, `text/*`); `undefined` means it
   * takes no input: only a request with neither body nor content type.
   */
  readonly inputContentType?: string;
  /** The request must carry a content type matching `inputContentType`: one with neither body nor content type is refused. */
  readonly inputRequired: boolean;
  /** The input's JSON schema as declared; with one, an empty body is refused (it is no JSON value). */
  readonly inputJsonSchema?: unknown;
  /** Content type of the handler's results; `undefined` means none is sent. */
  readonly outputContentType?: string;
  /** The output's JSON schema as declared (documentation only: results are not checked against it). */
  readonly outputJsonSchema?: unknown;
  /** Send `outputContentType` with an empty result too. */
  readonly outputSetContentTypeIfEmpty?: boolean;
  readonly inactivityTimeoutMs?: number;
  readonly abortTimeoutMs?: number;
  readonly journalRetentionMs?: number;
  readonly idempotencyRetentionMs?: number;
  readonly workflowCompletionRetentionMs?: number;
  readonly ingressPrivate?: boolean;
  readonly retryPolicy?: RetryPolicyOverrides;
  /** The SDK reads state on demand: attempts start with no state (Restate's `enable_lazy_state`). */
  readonly enableLazyState?: boolean;
  readonly documentation?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * The settings the handler's manifest declared itself, rather than took from its service: a
   * service-level change (`PATCH /services/{name}`) leaves these alone. Absent in registries
   * written before it was recorded.
   */
  readonly ownSettings?: readonly HandlerOwnSetting[];
}

/** Handler settings that fall back to the service's. */
export type HandlerOwnSetting = "ingressPrivate" | "inactivityTimeoutMs" | "abortTimeoutMs" | "journalRetentionMs" | "idempotencyRetentionMs" | "workflowCompletionRetentionMs";

export interface ServiceSchema {
  readonly name: string;
  readonly ty: ServiceType;
  readonly handlers: readonly HandlerSchema[];
  readonly deploymentId: string;
  readonly revision: number;
  readonly public: boolean;
  readonly inactivityTimeoutMs?: number;
  readonly abortTimeoutMs?: number;
  readonly journalRetentionMs?: number;
  readonly idempotencyRetentionMs?: number;
  /** Workflows only: set through the admin API (`PATCH /services/{name}`); the manifest sets it per handler. */
  readonly workflowCompletionRetentionMs?: number;
  readonly enableLazyState?: boolean;
  readonly retryPolicy?: RetryPolicyOverrides;
  readonly documentation?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface DeploymentSchema {
  readonly id: string;
  readonly uri: string;
  readonly protocolMode: ProtocolMode;
  readonly minProtocolVersion: number;
  readonly maxProtocolVersion: number;
  /** The version Reprise speaks to this deployment: the highest both sides support. */
  readonly protocolVersion: number;
  /** Absent in registries written before HTTP/1.1 deployments were supported: HTTP/2. */
  readonly httpVersion?: HttpVersion;
  readonly additionalHeaders: Readonly<Record<string, string>>;
  /** The service revisions this deployment registered; a newer deployment may hold the active one. */
  readonly services: readonly { readonly name: string; readonly revision: number }[];
  readonly createdAt: number;
  readonly sdkVersion?: string;
  /** Free-form labels given at registration (e.g. the git commit). */
  readonly metadata?: Readonly<Record<string, string>>;
}

export type PayloadSchema = Pick<
  HandlerSchema,
  "inputContentType" | "inputRequired" | "inputJsonSchema" | "outputContentType" | "outputJsonSchema" | "outputSetContentTypeIfEmpty"
>;

/**
 * A handler's input and output as the ingress enforces them, from its manifest declarations. An
 * undeclared input accepts anything (or nothing) and an undeclared output is JSON, as in Restate.
 */
export function payloadSchema(input: InputPayload | undefined, output: OutputPayload | undefined): PayloadSchema {
  const inputs: PayloadSchema =
    input === undefined
      ? { inputContentType: "*/*", inputRequired: false }
      : {
          ...(input.contentType !== undefined ? { inputContentType: input.contentType } : {}),
          inputRequired: input.required ?? false,
          ...(input.contentType !== undefined && input.jsonSchema !== undefined ? { inputJsonSchema: input.jsonSchema } : {}),
        };
  if (output === undefined) return { ...inputs, outputContentType: "application/json" };
  if (output.contentType === undefined) return inputs;
  return {
    ...inputs,
    outputContentType: output.contentType,
    ...(output.jsonSchema !== undefined ? { outputJsonSchema: output.jsonSchema } : {}),
    ...(output.setContentTypeIfEmpty ? { outputSetContentTypeIfEmpty: true } : {}),
  };
}

/** The retry settings a service's or handler's manifest declares; undefined when it declares none. */
export function retryPolicyOf(o: InvocationOptions): RetryPolicyOverrides | undefined {
  const policy: RetryPolicyOverrides = {
    ...(o.retryPolicyInitialInterval !== undefined ? { initialIntervalMs: o.retryPolicyInitialInterval } : {}),
    ...(o.retryPolicyExponentiationFactor !== undefined ? { factor: o.retryPolicyExponentiationFactor } : {}),
    ...(o.retryPolicyMaxInterval !== undefined ? { maxIntervalMs: o.retryPolicyMaxInterval } : {}),
    ...(o.retryPolicyMaxAttempts !== undefined ? { maxAttempts: o.retryPolicyMaxAttempts } : {}),
    ...(o.retryPolicyOnMaxAttempts !== undefined ? { onMaxAttempts: o.retryPolicyOnMaxAttempts === "PAUSE" ? "pause" : "kill" } : {}),
  };
  return Object.keys(policy).length > 0 ? policy : undefined;
}

/**
 * The `schema_registry` metadata document. `services` holds every revision still served by a
 * registered deployment (one per service and deployment); the active one of a service is its
 * highest revision. Invocations pinned to an older deployment run on that deployment's revision.
 */
export interface SchemaRegistry {
  readonly deployments: readonly DeploymentSchema[];
  readonly services: readonly ServiceSchema[];
}

export const EMPTY_SCHEMA: SchemaRegistry = { deployments: [], services: [] };

/** Read-only lookups over one version of the registry. */
export class SchemaView {
  /** The active revision of each service. */
  private readonly services = new Map<string, ServiceSchema>();
  private readonly deployments: Map<string, DeploymentSchema>;

  constructor(readonly registry: SchemaRegistry) {
    for (const s of registry.services) {
      const active = this.services.get(s.name);
      if (!active || active.revision < s.revision) this.services.set(s.name, s);
    }
    this.deployments = new Map(registry.deployments.map((d) => [d.id, d]));
  }

  /** The active revision of a service. */
  service(name: string): ServiceSchema | undefined {
    return this.services.get(name);
  }

  /** The revision of a service that a given deployment serves (what invocations pinned to it run). */
  serviceOf(deploymentId: string, name: string): ServiceSchema | undefined {
    return this.registry.services.find((s) => s.deploymentId === deploymentId && s.name === name);
  }

  /** Every service revision a deployment serves, active or not. */
  servicesOf(deploymentId: string): ServiceSchema[] {
    return this.registry.services.filter((s) => s.deploymentId === deploymentId).sort((a, b) => a.name.localeCompare(b.name));
  }

  deployment(id: string): DeploymentSchema | undefined {
    return this.deployments.get(id);
  }

  deploymentForService(name: string): DeploymentSchema | undefined {
    const svc = this.services.get(name);
    return svc ? this.deployments.get(svc.deploymentId) : undefined;
  }

  /** Resolves service + handler to an invocation target, with errors as the ingress reports them. */
  resolveTarget(service: string, handler: string): { target: Omit<InvocationTarget, "key">; handler: HandlerSchema; service: ServiceSchema } {
    const svc = this.services.get(service);
    if (!svc) {
      throw new NotFoundError(`service '${service}' not found, make sure to register the service before calling it.`, "service_not_found");
    }
    const h = svc.handlers.find((x) => x.name === handler);
    if (!h) {
      throw new NotFoundError(
        `the service '${service}' exists, but the handler '${handler}' was not found, check that the handler exists in the latest registered service version.`,
        "handler_not_found",
      );
    }
    return { target: { service, handler, serviceType: svc.ty, handlerType: h.ty }, handler: h, service: svc };
  }

  listServices(): ServiceSchema[] {
    return [...this.services.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  listDeployments(): DeploymentSchema[] {
    return [...this.deployments.values()];
  }
}

export function requireKey(target: Omit<InvocationTarget, "key">, key: string | undefined): void {
  if (target.serviceType !== "SERVICE" && (key === undefined || key === "")) {
    throw new BadRequestError(`the service '${target.service}' is a ${target.serviceType === "WORKFLOW" ? "workflow" : "virtual object"}; call it as /${target.service}/{key}/${target.handler}`, "missing_key");
  }
}
