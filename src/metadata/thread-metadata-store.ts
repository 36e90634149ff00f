import type { ThreadHandlers } from "../common/thread-channel.ts";
import { RepriseError } from "../types/errors.ts";
import type { Version } from "../types/ids.ts";
import { PreconditionFailedError, type MetadataStore, type MetadataWatchEvent, type Precondition, type VersionedValue } from "./metadata-store.ts";

/** What a thread's metadata store asks of the thread that holds the real one. */
export type MetadataCalls = {
  metadataGet: { args: [key: string]; answer: VersionedValue | null };
  metadataPut: { args: [key: string, value: Uint8Array, precondition: Precondition]; answer: Version };
  metadataDelete: { args: [key: string, precondition: Precondition]; answer: void };
  metadataWatch: { args: [watchId: number, key: string]; answer: void };
  metadataUnwatch: { args: [watchId: number]; answer: void };
};

/** What the holder tells a thread that watches a key. */
export type MetadataNotices = {
  metadataChanged: { args: [watchId: number, event: MetadataWatchEvent]; answer: void };
};

/** How the store reaches the holder: the thread's channel. */
export interface MetadataLink {
  call<K extends keyof MetadataCalls>(op: K, ...args: MetadataCalls[K]["args"]): Promise<MetadataCalls[K]["answer"]>;
}

/**
 * The metadata store of another thread (the node's main thread), seen from a worker thread: every
 * operation is a call there, so compare-and-swap stays one atomic check on one store, and watches
 * are registered there and their events forwarded. A precondition that failed comes back as its
 * own class, which read-modify-write loops match on.
 */
export class ThreadMetadataStore implements MetadataStore {
  private nextWatchId = 0;
  private readonly watchers = new Map<number, (event: MetadataWatchEvent) => void>();

  constructor(private readonly link: MetadataLink) {}

  /** The handlers of the notices the holder sends this store. */
  readonly notices: ThreadHandlers<MetadataNotices> = {
    metadataChanged: (watchId, event) => this.watchers.get(watchId)?.(event),
  };

  get(key: string): Promise<VersionedValue | null> {
    return this.link.call("metadataGet", key);
  }

  put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version> {
    return this.link.call("metadataPut", key, value, precondition).catch((e: unknown) => Promise.reject(asPreconditionFailed(e, key)));
  }

  delete(key: string, precondition: Precondition): Promise<void> {
    return this.link.call("metadataDelete", key, precondition).catch((e: unknown) => Promise.reject(asPreconditionFailed(e, key)));
  }

  watch(key: string, onChange: (event: MetadataWatchEvent) => void): () => void {
    const watchId = ++this.nextWatchId;
    this.watchers.set(watchId, onChange);
    // Registering fails only once the holder is gone, when no event could come anyway.
    void this.link.call("metadataWatch", watchId, key).catch(() => this.watchers.delete(watchId));
    return () => {
      if (!this.watchers.delete(watchId)) return;
      void this.link.call("metadataUnwatch", watchId).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}

function asPreconditionFailed(e: unknown, key: string): unknown {
  return e instanceof RepriseError && e.code === "precondition_failed" ? new PreconditionFailedError(key, null) : e;
}

/**
 * The holder's side: serves a thread's `ThreadMetadataStore` from `store`, its watch events
 * forwarded through `notify`. `close` stops the watches it registered.
 */
export function serveMetadata(
  store: MetadataStore,
  notify: (watchId: number, event: MetadataWatchEvent) => void,
): { readonly handlers: ThreadHandlers<MetadataCalls>; close(): void } {
  const unwatch = new Map<number, () => void>();
  return {
    handlers: {
      metadataGet: (key) => store.get(key),
      metadataPut: (key, value, precondition) => store.put(key, value, precondition),
      metadataDelete: (key, precondition) => store.delete(key, precondition),
      metadataWatch: (watchId, key) => void unwatch.set(watchId, store.watch(key, (event) => notify(watchId, event))),
      metadataUnwatch: (watchId) => {
        unwatch.get(watchId)?.();
        unwatch.delete(watchId);
      },
    },
    close: () => {
      for (const stop of unwatch.values()) stop();
      unwatch.clear();
    },
  };
}
