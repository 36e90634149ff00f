import { ExponentialBackoff, isBrokenCircuitError, noop } from "cockatiel";
import { ClientClosedError, Etcd3, GRPCResourceExhastedError, isRecoverableError, type IKeyValue, type ITxnResponse, type Namespace, type Watcher } from "etcd3";
import { rootLogger, type Logger } from "../common/logger.ts";
import { EtcdEndpointHealth, EtcdEndpoints } from "./etcd-endpoint-health.ts";
import { errorMessage, RepriseError, UnavailableError } from "../types/errors.ts";
import { Version } from "../types/ids.ts";
import {
  PreconditionFailedError,
  type MetadataStore,
  type MetadataWatchEvent,
  type Precondition,
  type VersionedValue,
} from "./metadata-store.ts";

export interface EtcdMetadataStoreOptions {
  /** Client URLs of the etcd members, e.g. `http://127.0.0.1:2379`. */
  readonly endpoints: readonly string[];
  /** Prefix of every key, so several clusters (or tests) can share one etcd. */
  readonly prefix?: string;
  /** Deadline of each unary call; a call past it fails with a retryable `UnavailableError`. */
  readonly callTimeoutMs?: number;
  readonly logger?: Logger;
}

const DEFAULT_CALL_TIMEOUT_MS = 3_000;

/** etcd refused a request for a reason retrying cannot fix (bad auth, invalid argument, ...). */
export class MetadataBackendError extends RepriseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("metadata_backend_error", message, false, 500, options);
  }
}

/**
 * The cluster metadata store: a real etcd reached through the `etcd3` gRPC client.
 *
 * `Version` is etcd's per-key `version`, not `mod_revision`: `version` is 1 on create and grows by
 * one on each put of that key, which is exactly the `MetadataStore` contract, so a document has the
 * same version in every backend and in `etcdctl get -w json`. `mod_revision` is the global store
 * revision and jumps with writes to unrelated keys. As in the other backends a delete resets the
 * version, so a delete-then-recreate reuses version numbers; control-plane documents are not deleted.
 *
 * Preconditions are etcd transactions comparing `version` (0 for an absent key), so check and write
 * are one atomic step on the etcd leader. Connection failures and timeouts are `UnavailableError`
 * (retryable): for a put that timed out the write may or may not have been applied, and callers
 * settle that by re-reading (see `readModifyWrite`).
 */
export class EtcdMetadataStore implements MetadataStore {
  private readonly client: Etcd3;
  private readonly kv: Namespace;
  private readonly log: Logger;
  private readonly watches = new Set<KeyWatch>();
  /** Rounds of asking every member's health; null with a single endpoint. */
  private readonly endpoints: EtcdEndpoints | null;
  /** Highest store revision any response has shown; a new watch starts after it (see `watch`). */
  private seenRevision: bigint | null = null;

  constructor(options: EtcdMetadataStoreOptions) {
    const timeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    const endpoints: EtcdEndpointHealth[] = [];
    this.log = (options.logger ?? rootLogger).child({ component: "etcd-metadata" });
    this.client = new Etcd3({
      hosts: [...options.endpoints],
      dialTimeout: timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeoutMs }),
      // No client-side retries: a retried CAS whose first attempt was applied must surface to the
      // caller's read-modify-write loop. But an endpoint that just failed is skipped until its
      // /health answers again (etcd-endpoint-health.ts): a member cut off in a minority hangs
      // every call until its deadline, and without this one call in three would wait that long
      // while the majority's members answer at once. When every endpoint is held off the call
      // fails fast (retryable). A single endpoint is never held off: there is no other to turn
      // to. Watches reconnect and resume from their revision.
      faultHandling: {
        host: (host) => {
          if (options.endpoints.length === 1) return noop;
          const health = new EtcdEndpointHealth(`${host.includes("://") ? host : `http://${host}`}/health`);
          endpoints.push(health);
          return health;
        },
        global: noop,
        // etcd3 wants a backoff state (it calls `next()` on it), not a factory.
        watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1_000 }).next(),
      },
      grpcOptions: {
        "grpc.initial_reconnect_backoff_ms": 100,
        "grpc.max_reconnect_backoff_ms": 1_000,
        // Finds a dead connection under a quiet watch; etcd refuses pings more often than every 5 s.
        "grpc.keepalive_time_ms": 6_000,
        "grpc.keepalive_timeout_ms": 2_000,
      },
    });
    this.kv = options.prefix ? this.client.namespace(options.prefix) : this.client;
    // etcd3 asked for every host's policy as it was constructed.
    this.endpoints = endpoints.length > 0 ? new EtcdEndpoints(endpoints) : null;
  }

  async get(key: string): Promise<VersionedValue | null> {
    const res = await this.call(key, () => this.kv.get(key).exec());
    this.see(res.header.revision);
    return toVersioned(res.kvs[0]);
  }

  async put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version> {
    // The range after the put runs in the same transaction, so it reads the version this put made.
    const write = [this.kv.put(key).value(Buffer.from(value)), this.kv.get(key)];
    const res = await this.call(key, () => {
      switch (precondition.kind) {
        case "none":
          // Always true; a transaction all the same, so one response reads back the new version.
          return this.kv.if(key, "Version", ">", -1).then(...write).commit();
        case "does-not-exist":
          return this.kv.if(key, "Version", "==", 0).then(...write).else(this.kv.get(key)).commit();
        case "matches":
          return this.kv.if(key, "Version", "==", precondition.version).then(...write).else(this.kv.get(key)).commit();
      }
    });
    this.see(res.header.revision);
    const written = checkTxn(key, res);
    return toVersioned(written.responses[1]?.response_range.kvs[0])!.version;
  }

  async delete(key: string, precondition: Precondition): Promise<void> {
    if (precondition.kind === "none") {
      this.see((await this.call(key, () => this.kv.delete().key(key).exec())).header.revision);
      return;
    }
    const res = await this.call(key, () => {
      switch (precondition.kind) {
        case "does-not-exist":
          return this.kv.if(key, "Version", "==", 0).else(this.kv.get(key)).commit();
        case "matches":
          return this.kv.if(key, "Version", "==", precondition.version).then(this.kv.delete().key(key)).else(this.kv.get(key)).commit();
      }
    });
    this.see(res.header.revision);
    checkTxn(key, res);
  }

  /**
   * Delivers every change of `key` in revision order, reconnecting as needed. The etcd watch is set
   * up asynchronously, so it starts after the newest revision this client has already seen: any
   * change a later `get` on this client misses is delivered (changes it did see may be delivered
   * too; the last event always carries the newest value). A client that has seen nothing yet, and
   * a watch whose history was compacted away, first reads the key and delivers its current value.
   */
  watch(key: string, onChange: (event: MetadataWatchEvent) => void): () => void {
    const w = new KeyWatch(this.kv, key, onChange, this.log, (rev) => this.see(rev));
    this.watches.add(w);
    w.start(this.seenRevision);
    return () => {
      this.watches.delete(w);
      void w.stop();
    };
  }

  async close(): Promise<void> {
    const stopping = [...this.watches].map((w) => w.stop());
    this.watches.clear();
    await Promise.all(stopping);
    this.endpoints?.close();
    this.client.close();
  }

  private see(revision: string): void {
    const r = BigInt(revision);
    if (this.seenRevision === null || r > this.seenRevision) this.seenRevision = r;
  }

  private async call<T>(key: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw toMetadataError(key, e);
    }
  }
}

function toVersioned(kv: IKeyValue | undefined): VersionedValue | null {
  return kv ? { version: Version(Number(kv.version)), value: new Uint8Array(kv.value) } : null;
}

/** A failed compare means the precondition failed; the `else` branch read the current version. */
function checkTxn(key: string, res: ITxnResponse): ITxnResponse {
  if (res.succeeded) return res;
  throw new PreconditionFailedError(key, toVersioned(res.responses[0]?.response_range.kvs[0])?.version ?? null);
}

function toMetadataError(key: string, e: unknown): RepriseError {
  if (e instanceof RepriseError) return e;
  if (e instanceof ClientClosedError) return new UnavailableError(`metadata store is closed (key '${key}')`, "metadata_store_closed", { cause: e });
  if (isBrokenCircuitError(e)) return new UnavailableError(`every etcd endpoint failed just now (key '${key}'); retry shortly`, "metadata_unavailable", { cause: e });
  // etcd3 counts RESOURCE_EXHAUSTED as recoverable, but here it means a value over etcd's request
  // limit or a full database: the same request fails again until an operator acts.
  if (e instanceof Error && isRecoverableError(e) && !(e instanceof GRPCResourceExhastedError)) {
    return new UnavailableError(`etcd unavailable for key '${key}': ${e.message}`, "metadata_unavailable", { cause: e });
  }
  return new MetadataBackendError(`etcd refused the request for key '${key}': ${errorMessage(e)}`, { cause: e });
}

const RESTART_BACKOFF_MS = { initial: 50, max: 1_000 };

/** One `watch()` subscription: an etcd watcher, recreated from a fresh read if etcd cancels it. */
class KeyWatch {
  private watcher: Watcher | null = null;
  private stopped = false;

  constructor(
    private readonly kv: Namespace,
    private readonly key: string,
    private readonly onChange: (event: MetadataWatchEvent) => void,
    private readonly log: Logger,
    private readonly see: (revision: string) => void,
  ) {}

  start(afterRevision: bigint | null): void {
    this.run(afterRevision).catch((e: unknown) => this.log.error({ key: this.key, err: errorMessage(e) }, "metadata watch stopped unexpectedly"));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const watcher = this.watcher;
    this.watcher = null;
    if (watcher) await this.cancel(watcher);
  }

  /** Cancelling only fails when the stream is already gone, which ends the watcher as well. */
  private async cancel(watcher: Watcher): Promise<void> {
    await watcher.cancel().catch((e: unknown) => this.log.debug({ key: this.key, err: errorMessage(e) }, "cancelling a metadata watch failed"));
  }

  private async run(afterRevision: bigint | null): Promise<void> {
    for (let failures = 0; !this.stopped; failures++) {
      if (failures > 0) await new Promise((r) => setTimeout(r, Math.min(RESTART_BACKOFF_MS.initial * 2 ** failures, RESTART_BACKOFF_MS.max)));
      try {
        // After a failure the start revision may be gone (compacted): start over from a read.
        let from = failures === 0 ? afterRevision : null;
        if (from === null) {
          const res = await this.kv.get(this.key).exec();
          from = BigInt(res.header.revision);
          this.see(res.header.revision);
          if (this.stopped) return;
          this.deliver(toVersioned(res.kvs[0]));
        }
        const watcher = await this.kv.watch().key(this.key).startRevision((from + 1n).toString()).create();
        if (this.stopped) {
          await this.cancel(watcher);
          return;
        }
        this.watcher = watcher;
        watcher
          .on("put", (kv) => {
            this.see(kv.mod_revision);
            this.deliver(toVersioned(kv));
          })
          .on("delete", (kv) => {
            this.see(kv.mod_revision);
            this.deliver(null);
          })
          .on("disconnected", (e) => this.log.debug({ key: this.key, err: errorMessage(e) }, "metadata watch disconnected; resuming"))
          .on("error", (e) => {
            // etcd cancelled the watch (e.g. its start revision was compacted): start over from a read.
            this.log.warn({ key: this.key, err: errorMessage(e) }, "metadata watch cancelled by etcd; re-reading the key");
            if (this.watcher !== watcher) return;
            this.watcher = null;
            void this.cancel(watcher);
            this.start(null);
          });
        return;
      } catch (e) {
        // Nothing was watched yet (etcd unreachable): keep the same starting point and try again.
        this.log.debug({ key: this.key, err: errorMessage(e), failures }, "starting a metadata watch failed; retrying");
      }
    }
  }

  private deliver(value: VersionedValue | null): void {
    if (this.stopped) return;
    try {
      this.onChange({ key: this.key, value });
    } catch (e) {
      // A watcher's bug must not kill the watch stream shared with other keys.
      this.log.error({ key: this.key, err: errorMessage(e) }, "metadata watch callback threw");
    }
  }
}
