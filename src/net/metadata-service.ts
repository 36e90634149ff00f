import type { MessageInitShape } from "@bufbuild/protobuf";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../common/logger.ts";
import {
  PreconditionFailedError,
  type MetadataStore,
  type MetadataWatchEvent,
  type Precondition,
  type VersionedValue,
} from "../metadata/metadata-store.ts";
import { errorMessage } from "../types/errors.ts";
import { Version } from "../types/ids.ts";
import { createClient, RpcChannel, type ServiceClient } from "./client.ts";
import {
  MetadataService,
  Precondition_Kind,
  type PreconditionSchema,
  type VersionedValue as WireValue,
  type VersionedValueSchema,
} from "./gen/metadata_pb.ts";
import { RemoteError } from "./errors.ts";
import { longPollWaitMs } from "./rpc-call.ts";
import type { ServiceImpl } from "./server.ts";

const WATCH_POLL_MS = 10_000;

/** Serves a `MetadataStore` to other processes (a metadata-server role for clusters without etcd, and tests). */
export function metadataServiceImpl(store: MetadataStore): ServiceImpl<typeof MetadataService> {
  return {
    get: async (req) => ({ value: toWire(await store.get(req.key)) }),
    put: async (req) => ({ version: BigInt(await store.put(req.key, req.value, fromWirePrecondition(req.precondition))) }),
    delete: async (req) => {
      await store.delete(req.key, fromWirePrecondition(req.precondition));
      return {};
    },
    watch: async (req, ctx) => {
      const deadline = Date.now() + longPollWaitMs(req.maxWaitMs, ctx);
      let changed: () => void = () => undefined;
      const unwatch = store.watch(req.key, () => changed());
      try {
        for (;;) {
          const current = await store.get(req.key);
          if (BigInt(current?.version ?? 0) !== req.knownVersion || Date.now() >= deadline || ctx.signal.aborted) return { value: toWire(current) };
          await new Promise<void>((resolve) => {
            const wake = (): void => {
              clearTimeout(timer);
              ctx.signal.removeEventListener("abort", wake);
              resolve();
            };
            const timer = setTimeout(wake, deadline - Date.now());
            ctx.signal.addEventListener("abort", wake, { once: true });
            changed = wake;
          });
        }
      } finally {
        unwatch();
      }
    },
  };
}

/** A `MetadataStore` in another process, reached over the node transport. */
export class RemoteMetadataStore implements MetadataStore {
  private readonly channel: RpcChannel;
  private readonly client: ServiceClient<typeof MetadataService>;
  private readonly watches = new Set<AbortController>();

  constructor(
    address: string,
    private readonly log: Logger,
    private readonly timeoutMs = 5_000,
  ) {
    this.channel = new RpcChannel(() => address);
    this.client = createClient(MetadataService, this.channel);
  }

  async get(key: string): Promise<VersionedValue | null> {
    return fromWire((await this.client.get({ key }, { timeoutMs: this.timeoutMs })).value);
  }

  async put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version> {
    try {
      const res = await this.client.put({ key, value, precondition: toWirePrecondition(precondition) }, { timeoutMs: this.timeoutMs });
      return Version(Number(res.version));
    } catch (e) {
      throw preconditionError(key, e);
    }
  }

  async delete(key: string, precondition: Precondition): Promise<void> {
    try {
      await this.client.delete({ key, precondition: toWirePrecondition(precondition) }, { timeoutMs: this.timeoutMs });
    } catch (e) {
      throw preconditionError(key, e);
    }
  }

  /** Long-polls the key; consecutive changes between two polls arrive as one event with the latest value. */
  watch(key: string, onChange: (event: MetadataWatchEvent) => void): () => void {
    const stop = new AbortController();
    this.watches.add(stop);
    void (async () => {
      let known: bigint | null = null;
      for (let failures = 0; !stop.signal.aborted; ) {
        try {
          if (known === null) {
            known = BigInt((await this.get(key))?.version ?? 0);
            continue;
          }
          const res = await this.client.watch(
            { key, knownVersion: known, maxWaitMs: WATCH_POLL_MS },
            { timeoutMs: WATCH_POLL_MS + this.timeoutMs, signal: stop.signal },
          );
          failures = 0;
          const version = res.value?.version ?? 0n;
          if (version === known || stop.signal.aborted) continue;
          known = version;
          onChange({ key, value: fromWire(res.value) });
        } catch (e) {
          if (stop.signal.aborted) return;
          this.log.warn({ key, err: errorMessage(e) }, "metadata watch poll failed; retrying");
          await sleep(Math.min(100 * 2 ** failures++, 2_000), undefined, { signal: stop.signal }).catch(() => undefined);
        }
      }
    })();
    return () => {
      stop.abort();
      this.watches.delete(stop);
    };
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.abort();
    this.watches.clear();
    this.channel.close();
  }
}

/** The server's PreconditionFailedError arrives as a RemoteError; callers match on the class. The current version is not sent. */
function preconditionError(key: string, e: unknown): unknown {
  return e instanceof RemoteError && e.code === "precondition_failed" ? new PreconditionFailedError(key, null) : e;
}

function toWire(v: VersionedValue | null): MessageInitShape<typeof VersionedValueSchema> | undefined {
  return v === null ? undefined : { version: BigInt(v.version), value: v.value };
}

function fromWire(v: WireValue | undefined): VersionedValue | null {
  return v === undefined || v.version === 0n ? null : { version: Version(Number(v.version)), value: v.value };
}

function toWirePrecondition(p: Precondition): MessageInitShape<typeof PreconditionSchema> {
  switch (p.kind) {
    case "none":
      return { kind: Precondition_Kind.NONE };
    case "does-not-exist":
      return { kind: Precondition_Kind.DOES_NOT_EXIST };
    case "matches":
      return { kind: Precondition_Kind.MATCHES, version: BigInt(p.version) };
  }
}

function fromWirePrecondition(p: { kind: Precondition_Kind; version: bigint } | undefined): Precondition {
  switch (p?.kind ?? Precondition_Kind.NONE) {
    case Precondition_Kind.NONE:
      return { kind: "none" };
    case Precondition_Kind.DOES_NOT_EXIST:
      return { kind: "does-not-exist" };
    case Precondition_Kind.MATCHES:
      return { kind: "matches", version: Version(Number(p!.version)) };
  }
}
