import { rootLogger } from "../common/logger.ts";
import { errorMessage } from "../types/errors.ts";
import type { MetadataWatchEvent, VersionedValue } from "./metadata-store.ts";

/** In-process watch registry for stores whose writes all happen in this process. */
export class LocalWatchers {
  private readonly watchers = new Map<string, Set<(e: MetadataWatchEvent) => void>>();

  add(key: string, onChange: (event: MetadataWatchEvent) => void): () => void {
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(onChange);
    return () => set.delete(onChange);
  }

  notify(key: string, value: VersionedValue | null): void {
    for (const w of this.watchers.get(key) ?? []) {
      try {
        w({ key, value });
      } catch (e) {
        // The write is durable already; a watcher's bug must not turn it into a failed put.
        rootLogger.error({ key, err: errorMessage(e) }, "metadata watch callback threw");
      }
    }
  }

  clear(): void {
    this.watchers.clear();
  }
}
