import { randomBytes } from "node:crypto";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { decodeDocument, documentCodec, METADATA_KEYS } from "../metadata/documents.ts";
import { readModifyWrite } from "../metadata/read-modify-write.ts";
import { discoverEndpoint, type EndpointManifest } from "../protocol/discovery.ts";
import { BadRequestError, ConflictError, NotFoundError } from "../types/errors.ts";
import { base62EncodeFixed } from "../types/ids.ts";
import {
  EMPTY_SCHEMA,
  payloadSchema,
  retryPolicyOf,
  SchemaView,
  type DeploymentSchema,
  type HandlerSchema,
  type SchemaRegistry,
  type ServiceSchema,
} from "../schema/schema.ts";

export interface RegisterRequest {
  readonly uri: string;
  readonly additionalHeaders?: Readonly<Record<string, string>>;
  /** Replace services already owned by another deployment (Restate's default is true). */
  readonly force?: boolean;
}

/**
 * Owns the schema registry document: registration runs discovery, then a versioned CAS on the
 * metadata store, so concurrent registrations and retries converge.
 */
export class DeploymentRegistry {
  private view: SchemaView = new SchemaView(EMPTY_SCHEMA);
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly store: MetadataStore,
    private readonly discoveryTimeoutMs = 10_000,
  ) {}

  async load(): Promise<void> {
    const current = await this.store.get(METADATA_KEYS.schema);
    if (current) this.view = new SchemaView(decodeDocument<SchemaRegistry>(current.value));
    this.unwatch = this.store.watch(METADATA_KEYS.schema, (e) => {
      if (e.value) this.view = new SchemaView(decodeDocument<SchemaRegistry>(e.value.value));
    });
  }

  close(): void {
    this.unwatch?.();
  }

  get schema(): SchemaView {
    return this.view;
  }

  async register(req: RegisterRequest, now: number): Promise<{ deployment: DeploymentSchema; services: ServiceSchema[] }> {
    const uri = req.uri.replace(/\/+$/, "");
    const { manifest, protocolVersion, sdkVersion, httpVersion } = await discoverEndpoint(uri, {
      timeoutMs: this.discoveryTimeoutMs,
      headers: req.additionalHeaders ?? {},
    });
    if (httpVersion !== "2") {
      throw new BadRequestError(
        `deployment ${uri} answered discovery over HTTP/1.1 only; Reprise invokes deployments over HTTP/2 (h2c or h2). Serve it with an HTTP/2 server, e.g. restate.serve(...)`,
        "http2_required",
      );
    }
    const force = req.force ?? true;
    let registered!: { deployment: DeploymentSchema; services: ServiceSchema[] };
    await this.update((registry) => {
      const existing = registry.deployments.find((d) => d.uri === uri);
      const id = existing?.id ?? newDeploymentId();
      const services = manifest.services.map((s) => {
        const prior = registry.services.find((x) => x.name === s.name);
        if (prior && prior.deploymentId !== id && prior.ty !== s.ty && !force) {
          throw new ConflictError(
            `service '${s.name}' is already registered as ${prior.ty} by deployment ${prior.deploymentId}; register with force=true to replace it`,
          );
        }
        return toServiceSchema(s, id, (prior?.revision ?? 0) + 1);
      });
      const deployment: DeploymentSchema = {
        id,
        uri,
        protocolMode: manifest.protocolMode,
        minProtocolVersion: manifest.minProtocolVersion,
        maxProtocolVersion: manifest.maxProtocolVersion,
        protocolVersion,
        additionalHeaders: req.additionalHeaders ?? {},
        services: services.map((s) => ({ name: s.name, revision: s.revision })),
        createdAt: existing?.createdAt ?? now,
        ...(sdkVersion ? { sdkVersion } : {}),
      };
      registered = { deployment, services };
      const names = new Set(services.map((s) => s.name));
      return {
        deployments: [...registry.deployments.filter((d) => d.id !== id), deployment].map((d) =>
          d.id === id ? d : { ...d, services: d.services.filter((s) => !names.has(s.name)) },
        ),
        services: [...registry.services.filter((s) => !names.has(s.name)), ...services],
      };
    });
    return registered;
  }

  async remove(id: string): Promise<void> {
    if (!this.view.deployment(id)) throw new NotFoundError(`deployment '${id}' not found`, "deployment_not_found");
    await this.update((registry) => {
      if (!registry.deployments.some((d) => d.id === id)) return "unchanged";
      return {
        deployments: registry.deployments.filter((d) => d.id !== id),
        services: registry.services.filter((s) => s.deploymentId !== id),
      };
    });
  }

  /** Versioned CAS on the registry document; the local view follows the written version. */
  private async update(change: (registry: SchemaRegistry) => SchemaRegistry | "unchanged"): Promise<void> {
    const { value } = await readModifyWrite<SchemaRegistry>(
      this.store,
      METADATA_KEYS.schema,
      documentCodec<SchemaRegistry>(),
      (current) => change(current ?? EMPTY_SCHEMA),
    );
    this.view = new SchemaView(value);
  }
}

function newDeploymentId(): string {
  return `dp_1${base62EncodeFixed(BigInt("0x" + randomBytes(16).toString("hex")), 22)}`;
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
    ...optional("documentation", h.documentation),
    ...optional("metadata", h.metadata),
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
    ...optional("documentation", s.documentation),
    ...optional("metadata", s.metadata),
  };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
