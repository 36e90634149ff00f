import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { BadRequestError, errorMessage } from "../types/errors.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "../invoker/retry-policy.ts";
import type { RetentionDefaults } from "../schema/retention.ts";
import { corsOriginProblem } from "../ingress/cors.ts";
import { parseSnapshotDestination, type SnapshotDestination } from "../snapshots/destination.ts";
import { loadRequestIdentity } from "./request-identity-key.ts";
import { parseAdvertisedAddress, parseMetadataAddress, parseRoles, type ClusterRole } from "./cluster-config.ts";

export interface NodeConfig {
  readonly baseDir: string;
  readonly nodeName: string;
  readonly bindAddress: string;
  readonly partitions: number;
  readonly worker: {
    /**
     * Threads a single node runs its partitions on, spread round-robin: 1 is the main thread; 2 or
     * more are partition threads, each with its processors, stores, logs and an invoker. 0 (the
     * default): one per core but one, and the main thread on 2 cores or fewer. Never more than
     * partitions. A cluster node runs its replicas on its main thread.
     */
    readonly threads: number;
  };
  readonly ingress: {
    readonly port: number;
    readonly bodyLimitBytes: number;
    /** Origins browsers may call the ingress from: `*` (any, as Restate) or `scheme://host[:port]` entries. */
    readonly corsAllowedOrigins: readonly string[];
  };
  readonly admin: { readonly port: number };
  /** The node port: restatectl's API on every node, and node-to-node traffic (the log-server role) in a cluster. */
  readonly nodeToNode: { readonly port: number };
  readonly cluster: ClusterSettings;
  readonly snapshots: SnapshotSettings;
  readonly log: {
    /** How often each partition's log is trimmed to what is safe to lose (see `LogTrimmer`); 0: never. */
    readonly trimIntervalMs: number;
  };
  readonly invoker: {
    readonly retry: RetryPolicy;
    readonly inactivityTimeoutMs: number;
    readonly abortTimeoutMs: number;
    /**
     * State sent with an attempt (keys and values) at most, as Restate's eager_state_size_limit;
     * the SDK reads the rest on demand. 0 sends none.
     */
    readonly eagerStateSizeLimitBytes: number;
    /**
     * PEM file with the Ed25519 private key that signs requests to deployments; empty: a key
     * generated on first start and kept at `<base-dir>/request-identity.pem`.
     */
    readonly requestIdentityPrivateKeyPemFile: string;
    /**
     * Invocation attempts a node runs at once, at most, as Restate's
     * `worker.invoker.concurrent-invocations-limit` (default 1000 there too); the rest wait their turn.
     */
    readonly concurrentInvocationsLimit: number;
  };
  /**
   * Retention of completed invocations whose handler sets none (`journal_retention`,
   * `idempotency_retention`, `workflow_completion_retention` in the deployment's manifest).
   */
  readonly retention: RetentionDefaults;
  /** OpenTelemetry traces of invocations, exported over OTLP/HTTP (protobuf); off while `endpoint` is empty. */
  readonly tracing: {
    /** The collector's OTLP/HTTP traces URL, e.g. `http://localhost:4318/v1/traces`; empty: no spans are exported. */
    readonly endpoint: string;
    /** `service.name` of the exported spans. */
    readonly serviceName: string;
  };
}

/** Cluster settings; a node is a cluster node when `metadata` is not `embedded` (see `isClusterMode`). */
export interface ClusterSettings {
  /** Checked when joining, so a node never joins another cluster's metadata. */
  readonly name: string;
  /** `embedded` (single node, `<base-dir>/metadata.sqlite`) or `etcd://host:port[,host:port]`. */
  readonly metadata: string;
  /** Roles of a cluster node; empty means `worker,log-server`. A single node always runs everything. */
  readonly roles: readonly ClusterRole[];
  /** `host:port` peers use to reach the node port; empty means `<bind address or 127.0.0.1>:<node port>`. */
  readonly advertisedAddress: string;
  /** Copies of each record in new replicated log segments (a write quorum). */
  readonly replication: number;
  /** Replicas of each partition (leader included) the controller places, capped by the number of workers. */
  readonly partitionReplication: number;
  /** Only join a cluster that already exists in the metadata store; never create one. */
  readonly join: boolean;
  /** With `join`: how long to wait for another node to create the cluster. */
  readonly joinTimeoutMs: number;
}

/** Partition snapshots and their repository. */
export interface SnapshotSettings {
  /**
   * `none`, `file:///dir` or `s3://bucket/prefix`; empty: `file://<base-dir>/snapshots` on a single
   * node, none in a cluster (a cluster without a repository never trims its logs).
   */
  readonly destination: string;
  /** A snapshot of a partition every this many applied records; 0: not by count. */
  readonly intervalNumRecords: number;
  /** A snapshot of a partition this often if it changed; 0: not by time. */
  readonly intervalMs: number;
  /** Snapshots kept per partition (the newest, and older ones to fall back on). */
  readonly numRetained: number;
  /** S3: empty values leave the AWS SDK's own resolution (environment, profiles). */
  readonly awsRegion: string;
  readonly awsEndpointUrl: string;
  readonly awsAccessKeyId: string;
  readonly awsSecretAccessKey: string;
  /** S3 path-style addressing (`endpoint/bucket/key`), as MinIO and most self-hosted stores need. */
  readonly awsForcePathStyle: boolean;
}

/** Restate's default for each retention. */
const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_CONFIG: NodeConfig = {
  baseDir: "./reprise-data",
  nodeName: "node-1",
  bindAddress: "0.0.0.0",
  partitions: 4,
  worker: { threads: 0 },
  ingress: { port: 8080, bodyLimitBytes: 10 * 1024 * 1024, corsAllowedOrigins: ["*"] },
  admin: { port: 9070 },
  nodeToNode: { port: 5122 },
  cluster: { name: "reprise", metadata: "embedded", roles: [], advertisedAddress: "", replication: 2, partitionReplication: 3, join: false, joinTimeoutMs: 60_000 },
  snapshots: {
    destination: "",
    intervalNumRecords: 10_000,
    intervalMs: 3_600_000,
    numRetained: 2,
    awsRegion: "",
    awsEndpointUrl: "",
    awsAccessKeyId: "",
    awsSecretAccessKey: "",
    awsForcePathStyle: false,
  },
  log: { trimIntervalMs: 60_000 },
  invoker: { retry: DEFAULT_RETRY_POLICY, inactivityTimeoutMs: 60_000, abortTimeoutMs: 60_000, eagerStateSizeLimitBytes: 32 * 1024 * 1024, requestIdentityPrivateKeyPemFile: "", concurrentInvocationsLimit: 1000 },
  retention: { journalMs: DAY_MS, idempotencyMs: DAY_MS, workflowCompletionMs: DAY_MS },
  tracing: { endpoint: "", serviceName: "reprise" },
};

type Json = { [k: string]: unknown };

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (s: string) => s.toLowerCase().replace(/[-_]([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Effective configuration: defaults, then the TOML file (snake_case or camelCase keys), then
 * `REPRISE_*` environment variables (`__` separates sections: REPRISE_INGRESS__PORT=8081),
 * then explicit overrides (CLI flags).
 */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Json } = {}): NodeConfig {
  let merged: Json = structuredClone(DEFAULT_CONFIG) as unknown as Json;
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, "utf8");
    } catch (e) {
      throw new BadRequestError(`cannot read config file '${opts.file}': ${(e as Error).message}`, "config_unreadable");
    }
    let parsed: Json;
    try {
      parsed = parseToml(text) as Json;
    } catch (e) {
      throw new BadRequestError(`config file '${opts.file}' is not valid TOML: ${(e as Error).message}`, "config_invalid");
    }
    merged = mergeInto(merged, normalizeKeys(parsed) as Json, opts.file);
  }
  for (const [name, value] of Object.entries(opts.env ?? {})) {
    if (!name.startsWith("REPRISE_") || value === undefined || name === "REPRISE_LOG_LEVEL") continue;
    const path = name.slice("REPRISE_".length).split("__").map(camel);
    let patch: Json = { [path[path.length - 1]]: value };
    for (let i = path.length - 2; i >= 0; i--) patch = { [path[i]]: patch };
    merged = mergeInto(merged, patch, `environment variable ${name}`);
  }
  merged = mergeInto(merged, opts.overrides ?? {}, "command line");
  return validate(merged as unknown as NodeConfig);
}

function normalizeKeys(v: unknown): unknown {
  if (Array.isArray(v) || typeof v !== "object" || v === null) return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [camel(k), normalizeKeys(x)]));
}

/** Merges `patch` into `base`, coercing strings to the type of the default they replace. */
function mergeInto(base: Json, patch: Json, source: string, path: string[] = []): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const here = [...path, k];
    if (!(k in base)) throw new BadRequestError(`unknown configuration key '${here.join(".")}' in ${source}`, "config_unknown_key");
    const current = base[k];
    if (Array.isArray(current)) {
      // Lists come as TOML arrays or as comma-separated strings (flags, environment).
      const items = Array.isArray(v) ? v.map(String) : String(v).split(",");
      out[k] = items.map((x) => x.trim()).filter((x) => x !== "");
    } else if (typeof current === "boolean") {
      if (v !== true && v !== false && v !== "true" && v !== "false") {
        throw new BadRequestError(`'${here.join(".")}' in ${source} must be true or false, got '${String(v)}'`, "config_invalid");
      }
      out[k] = v === true || v === "true";
    } else if (typeof current === "object" && current !== null) {
      if (typeof v !== "object" || v === null) throw new BadRequestError(`'${here.join(".")}' in ${source} must be a section`, "config_invalid");
      out[k] = mergeInto(current as Json, v as Json, source, here);
    } else if (typeof current === "number") {
      const n = typeof v === "string" ? Number(v) : v;
      if (typeof n !== "number" || !Number.isFinite(n)) throw new BadRequestError(`'${here.join(".")}' in ${source} must be a number, got '${String(v)}'`, "config_invalid");
      out[k] = n;
    } else {
      out[k] = String(v);
    }
  }
  return out;
}

function validate(c: NodeConfig): NodeConfig {
  const port = (name: string, p: number) => {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new BadRequestError(`${name} must be a port number 0..65535, got ${p}`, "config_invalid");
  };
  port("ingress.port", c.ingress.port);
  port("admin.port", c.admin.port);
  port("node_to_node.port", c.nodeToNode.port);
  if (!Number.isInteger(c.partitions) || c.partitions < 1 || c.partitions > 1024) {
    throw new BadRequestError(`partitions must be an integer 1..1024, got ${c.partitions}`, "config_invalid");
  }
  if (!Number.isInteger(c.worker.threads) || c.worker.threads < 0 || c.worker.threads > 1024) {
    throw new BadRequestError(`worker.threads must be an integer 0..1024 (0: one per core), got ${c.worker.threads}`, "config_invalid");
  }
  if (c.ingress.bodyLimitBytes < 1) throw new BadRequestError("ingress.body_limit_bytes must be positive", "config_invalid");
  for (const origin of c.ingress.corsAllowedOrigins) {
    const problem = corsOriginProblem(origin);
    if (problem !== null) throw new BadRequestError(`ingress.cors_allowed_origins: ${problem}`, "config_invalid");
  }
  const { onMaxAttempts } = c.invoker.retry;
  if (onMaxAttempts !== "pause" && onMaxAttempts !== "kill") {
    throw new BadRequestError(`invoker.retry.on_max_attempts must be pause or kill, got '${onMaxAttempts}'`, "config_invalid");
  }
  if (!Number.isSafeInteger(c.invoker.eagerStateSizeLimitBytes) || c.invoker.eagerStateSizeLimitBytes < 0) {
    throw new BadRequestError(`invoker.eager_state_size_limit_bytes must be a non-negative integer, got ${c.invoker.eagerStateSizeLimitBytes}`, "config_invalid");
  }
  if (!Number.isSafeInteger(c.invoker.concurrentInvocationsLimit) || c.invoker.concurrentInvocationsLimit < 1) {
    throw new BadRequestError(`invoker.concurrent_invocations_limit must be a positive integer, got ${c.invoker.concurrentInvocationsLimit}`, "config_invalid");
  }
  for (const [key, ms] of Object.entries(c.retention)) {
    if (!Number.isSafeInteger(ms) || ms < 0) throw new BadRequestError(`retention.${snake(key)} must be a non-negative integer (ms), got ${ms}`, "config_invalid");
  }
  if (c.invoker.requestIdentityPrivateKeyPemFile !== "") {
    // Read now, so a bad key file stops the start before anything is opened.
    try {
      loadRequestIdentity(c.invoker.requestIdentityPrivateKeyPemFile, c.baseDir);
    } catch (e) {
      throw new BadRequestError(`invoker.request_identity_private_key_pem_file: ${errorMessage(e)}`, "config_invalid");
    }
  }
  validateTracing(c);
  validateCluster(c);
  validateSnapshots(c);
  return c;
}

function validateTracing(c: NodeConfig): void {
  const { endpoint, serviceName } = c.tracing;
  if (endpoint !== "") {
    let url: URL | null = null;
    try {
      url = new URL(endpoint);
    } catch {
      // Reported below with what is expected.
    }
    if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
      throw new BadRequestError(`tracing.endpoint must be an http:// or https:// OTLP/HTTP traces URL such as http://localhost:4318/v1/traces, got '${endpoint}'`, "config_invalid");
    }
  }
  if (serviceName.trim() === "") throw new BadRequestError("tracing.service_name must not be empty", "config_invalid");
}

/** A node is a cluster node when its metadata is shared; otherwise it is today's complete single node. */
export function isClusterMode(c: NodeConfig): boolean {
  return parseMetadataAddress(c.cluster.metadata).kind !== "embedded";
}

/** Cluster settings with the flag that sets each; errors name both. */
const CLUSTER_SETTINGS: ReadonlyArray<{ key: keyof ClusterSettings; name: string; flag?: string }> = [
  { key: "name", name: "name", flag: "--cluster-name" },
  { key: "metadata", name: "metadata", flag: "--metadata" },
  { key: "roles", name: "roles", flag: "--roles" },
  { key: "advertisedAddress", name: "advertised_address", flag: "--advertised-address" },
  { key: "replication", name: "replication", flag: "--replication" },
  { key: "partitionReplication", name: "partition_replication", flag: "--partition-replication" },
  { key: "join", name: "join", flag: "--join" },
  { key: "joinTimeoutMs", name: "join_timeout_ms" },
];

function validateCluster(c: NodeConfig): void {
  const { cluster } = c;
  const checks: Partial<Record<keyof ClusterSettings, () => unknown>> = {
    name: () => {
      if (cluster.name.trim() === "") throw new Error("must not be empty");
    },
    metadata: () => parseMetadataAddress(cluster.metadata),
    roles: () => parseRoles(cluster.roles),
    advertisedAddress: () => cluster.advertisedAddress === "" || parseAdvertisedAddress(cluster.advertisedAddress),
    replication: () => {
      if (!Number.isInteger(cluster.replication) || cluster.replication < 1) throw new Error(`must be a positive integer, got ${cluster.replication}`);
    },
    partitionReplication: () => {
      if (!Number.isInteger(cluster.partitionReplication) || cluster.partitionReplication < 1) {
        throw new Error(`must be a positive integer, got ${cluster.partitionReplication}`);
      }
    },
    joinTimeoutMs: () => {
      if (!Number.isInteger(cluster.joinTimeoutMs) || cluster.joinTimeoutMs < 0) throw new Error(`must be a non-negative integer, got ${cluster.joinTimeoutMs}`);
    },
  };
  const label = (s: (typeof CLUSTER_SETTINGS)[number]): string => `cluster.${s.name}${s.flag ? ` (${s.flag})` : ""}`;
  for (const setting of CLUSTER_SETTINGS) {
    try {
      checks[setting.key]?.();
    } catch (e) {
      throw new BadRequestError(`${label(setting)}: ${errorMessage(e)}`, "config_invalid");
    }
  }
  if (isClusterMode(c)) {
    // A node's name is its identity in the cluster: a second node with the same name fences the first.
    if (c.nodeName === DEFAULT_CONFIG.nodeName) {
      throw new BadRequestError(`a cluster node needs its own --node-name (node_name); the default '${DEFAULT_CONFIG.nodeName}' would make every node the same one`, "config_invalid");
    }
    return;
  }
  // Settings only a cluster reads are refused on a single node rather than ignored.
  for (const setting of CLUSTER_SETTINGS) {
    if (setting.key === "name" || setting.key === "metadata") continue;
    if (JSON.stringify(cluster[setting.key]) !== JSON.stringify(DEFAULT_CONFIG.cluster[setting.key])) {
      throw new BadRequestError(`${label(setting)} applies to cluster nodes only; give the cluster's metadata store with --metadata etcd://host:port`, "config_invalid");
    }
  }
}

/** Snapshot and trim settings with the flag that sets each; errors name both. */
const SNAPSHOT_SETTINGS: ReadonlyArray<{ name: string; flag?: string; check: (c: NodeConfig) => unknown }> = [
  { name: "snapshots.destination", flag: "--snapshot-destination", check: (c) => snapshotDestination(c) },
  { name: "snapshots.interval_num_records", flag: "--snapshot-interval-records", check: (c) => nonNegativeInteger(c.snapshots.intervalNumRecords) },
  { name: "snapshots.interval_ms", flag: "--snapshot-interval-ms", check: (c) => nonNegativeInteger(c.snapshots.intervalMs) },
  {
    name: "snapshots.num_retained",
    check: (c) => {
      if (!Number.isInteger(c.snapshots.numRetained) || c.snapshots.numRetained < 1) throw new Error(`must be a positive integer, got ${c.snapshots.numRetained}`);
    },
  },
  {
    name: "snapshots.aws_secret_access_key",
    check: (c) => {
      if ((c.snapshots.awsAccessKeyId === "") !== (c.snapshots.awsSecretAccessKey === "")) throw new Error("give snapshots.aws_access_key_id and the secret together, or neither");
    },
  },
  { name: "log.trim_interval_ms", flag: "--log-trim-interval-ms", check: (c) => nonNegativeInteger(c.log.trimIntervalMs) },
];

function nonNegativeInteger(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`must be a non-negative integer, got ${n}`);
}

/** Where this node's snapshots go (see `SnapshotSettings.destination`). */
export function snapshotDestination(c: NodeConfig): SnapshotDestination {
  return parseSnapshotDestination(c.snapshots.destination, { baseDir: resolve(c.baseDir), cluster: isClusterMode(c) });
}

function validateSnapshots(c: NodeConfig): void {
  for (const setting of SNAPSHOT_SETTINGS) {
    try {
      setting.check(c);
    } catch (e) {
      throw new BadRequestError(`${setting.name}${setting.flag ? ` (${setting.flag})` : ""}: ${errorMessage(e)}`, "config_invalid");
    }
  }
}
