import { randomBytes } from "node:crypto";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { decodeDocument, documentCodec, METADATA_KEYS } from "../metadata/documents.ts";
import { readModifyWrite } from "../metadata/read-modify-write.ts";
import { discoverEndpoint } from "../protocol/discovery.ts";
import type { RequestIdentity } from "../protocol/request-identity.ts";
import { ConflictError, NotFoundError } from "../types/errors.ts";
import { base62EncodeFixed } from "../types/ids.ts";
import {
  addDeployment,
  deploymentAt,
  removeDeployment,
  updateDeployment,
  type DiscoveredDeployment,
  type RegistrationChange,
  type RegistrationResult,
} from "../schema/registry-changes.ts";
import { modifyServiceConfig, type ServiceConfigChange } from "../schema/service-config.ts";
import { EMPTY_SCHEMA, SchemaView, type DeploymentSchema, type SchemaRegistry, type ServiceSchema } from "../schema/schema.ts";

/** Where and how to reach a deployment, as a registration or an update gives it. */
export interface DeploymentAddress {
  readonly uri: string;
  readonly additionalHeaders: Readonly<Record<string, string>>;
  readonly useHttp11: boolean;
}

export interface RegisterRequest extends DeploymentAddress {
  readonly metadata?: Readonly<Record<string, string>>;
  /** Replace an existing deployment at the same address (and allow breaking changes). */
  readonly overwrite: boolean;
  /** Allow a service to change its type. */
  readonly allowBreaking: boolean;
  /** Discover and check, answer as a registration would, change nothing. */
  readonly dryRun: boolean;
}

export interface UpdateRequest {
  readonly uri?: string;
  readonly additionalHeaders?: Readonly<Record<string, string>>;
  readonly useHttp11?: boolean;
  /** Take the services from the rediscovered manifest too. */
  readonly overwrite: boolean;
  readonly dryRun: boolean;
}

export interface Registration {
  readonly result: RegistrationResult;
  readonly deployment: DeploymentSchema;
  readonly services: readonly ServiceSchema[];
}

export interface RegistryOptions {
  readonly discoveryTimeoutMs?: number;
  /** Signs discovery requests, as the invoker signs invocations. */
  readonly identity?: RequestIdentity;
}

/**
 * Owns the schema registry document: registration runs discovery, then a versioned CAS on the
 * metadata store, so concurrent registrations and retries converge. A dry run computes the same
 * change on the current registry and writes nothing.
 */
export class DeploymentRegistry {
  private view: SchemaView = new SchemaView(EMPTY_SCHEMA);
  private unwatch: (() => void) | null = null;
  private readonly listeners: ((registry: SchemaRegistry) => Promise<void>)[] = [];

  constructor(
    private readonly store: MetadataStore,
    private readonly o: RegistryOptions = {},
  ) {}

  async load(): Promise<void> {
    const current = await this.store.get(METADATA_KEYS.schema);
    if (current) this.view = new SchemaView(decodeDocument<SchemaRegistry>(current.value));
    this.unwatch = this.store.watch(METADATA_KEYS.schema, (e) => {
      if (e.value) void this.setView(new SchemaView(decodeDocument<SchemaRegistry>(e.value.value)));
    });
  }

  /**
   * Calls `listener` with every new registry. A change made here (register, update, remove)
   * returns only once every listener's promise has settled, so whoever changed it then finds the
   * change everywhere the listeners carry it (the ingress thread).
   */
  onChange(listener: (registry: SchemaRegistry) => Promise<void>): void {
    this.listeners.push(listener);
  }

  private async setView(view: SchemaView): Promise<void> {
    this.view = view;
    await Promise.allSettled(this.listeners.map((l) => l(view.registry)));
  }

  close(): void {
    this.unwatch?.();
  }

  get schema(): SchemaView {
    return this.view;
  }

  async register(req: RegisterRequest, now: number): Promise<Registration> {
    const uri = normalizeUri(req.uri);
    const change = (registry: SchemaRegistry, d: DiscoveredDeployment) =>
      addDeployment(registry, d, {
        overwrite: req.overwrite,
        allowBreaking: req.allowBreaking || req.overwrite,
        newId,
        now,
        ...(req.metadata ? { metadata: req.metadata } : {}),
      });
    const newId = newDeploymentId();
    // As in Restate, a known address without overwrite is answered before any discovery.
    const known = req.overwrite ? undefined : deploymentAt(this.view.registry, uri);
    if (known) return { result: "unchanged", deployment: known, services: this.view.servicesOf(known.id) };
    const discovered = await this.discover({ ...req, uri });
    if (req.dryRun) return change(this.view.registry, discovered);
    let applied!: RegistrationChange;
    await this.update((registry) => {
      applied = change(registry, discovered);
      return applied.result === "unchanged" ? "unchanged" : applied.registry;
    });
    return applied;
  }

  async updateDeployment(id: string, req: UpdateRequest): Promise<{ deployment: DeploymentSchema; services: readonly ServiceSchema[] }> {
    const existing = this.requireDeployment(id);
    const address: DeploymentAddress = {
      uri: normalizeUri(req.uri ?? existing.uri),
      additionalHeaders: req.additionalHeaders ?? existing.additionalHeaders,
      useHttp11: req.useHttp11 ?? existing.httpVersion === "HTTP/1.1",
    };
    const discovered = await this.discover(address);
    if (req.dryRun) return updateDeployment(this.view.registry, id, discovered, req);
    let updated!: { deployment: DeploymentSchema; services: readonly ServiceSchema[] };
    await this.update((registry) => {
      const change = updateDeployment(registry, id, discovered, req);
      updated = change;
      return change.registry;
    });
    return updated;
  }

  /**
   * Removes a deployment. Without `force` only a drained one: it serves no service's active
   * revision and no unfinished invocation is pinned to it (`pinnedInvocations` counts them).
   */
  async remove(id: string, opts: { readonly force: boolean; readonly pinnedInvocations: (deploymentId: string) => number }): Promise<void> {
    this.requireDeployment(id);
    if (!opts.force) {
      const active = this.view.listServices().filter((s) => s.deploymentId === id).map((s) => s.name);
      if (active.length > 0) {
        throw new ConflictError(
          `deployment ${id} serves the latest revision of ${active.map((n) => `'${n}'`).join(", ")}; removing it makes them unavailable. Remove it with force=true to do so anyway`,
          "deployment_active",
        );
      }
      const pinned = opts.pinnedInvocations(id);
      if (pinned > 0) {
        throw new ConflictError(
          `deployment ${id} is still draining: ${pinned} unfinished invocation(s) are pinned to it and would break. Remove it with force=true to do so anyway`,
          "deployment_draining",
        );
      }
    }
    await this.update((registry) => (registry.deployments.some((d) => d.id === id) ? removeDeployment(registry, id) : "unchanged"));
  }

  /** Changes a service's settings (`PATCH /services/{name}`) and answers its active revision as written. */
  async modifyService(name: string, change: ServiceConfigChange): Promise<ServiceSchema> {
    await this.update((registry) => modifyServiceConfig(registry, name, change));
    const modified = this.view.service(name);
    if (!modified) throw new NotFoundError(`The requested service '${name}' does not exist`, "service_not_found");
    return modified;
  }

  /** A deployment by id, or a 404 naming it. */
  requireDeployment(id: string): DeploymentSchema {
    const d = this.view.deployment(id);
    if (!d) throw new NotFoundError(`deployment '${id}' not found`, "deployment_not_found");
    return d;
  }

  private async discover(address: DeploymentAddress): Promise<DiscoveredDeployment> {
    const { manifest, protocolVersion, sdkVersion, httpVersion } = await discoverEndpoint(address.uri, {
      timeoutMs: this.o.discoveryTimeoutMs ?? 10_000,
      headers: address.additionalHeaders,
      useHttp11: address.useHttp11,
      ...(this.o.identity ? { identity: this.o.identity } : {}),
    });
    return {
      uri: address.uri,
      additionalHeaders: address.additionalHeaders,
      httpVersion: httpVersion === "1.1" ? "HTTP/1.1" : "HTTP/2.0",
      manifest,
      protocolVersion,
      ...(sdkVersion ? { sdkVersion } : {}),
    };
  }

  /** Versioned CAS on the registry document; the local view follows the written version. */
  private async update(change: (registry: SchemaRegistry) => SchemaRegistry | "unchanged"): Promise<void> {
    const { value } = await readModifyWrite<SchemaRegistry>(
      this.store,
      METADATA_KEYS.schema,
      documentCodec<SchemaRegistry>(),
      (current) => change(current ?? EMPTY_SCHEMA),
    );
    await this.setView(new SchemaView(value));
  }
}

function normalizeUri(uri: string): string {
  return uri.replace(/\/+$/, "");
}

function newDeploymentId(): string {
  return `dp_1${base62EncodeFixed(BigInt("0x" + randomBytes(16).toString("hex")), 22)}`;
}
