import { Version } from "../types/ids.ts";
import {
  PreconditionFailedError,
  type MetadataStore,
  type MetadataWatchEvent,
  type Precondition,
  type VersionedValue,
} from "./metadata-store.ts";
import { LocalWatchers } from "./local-watchers.ts";

/** Process-local store: for unit tests and for components that get a store injected. */
export class InMemoryMetadataStore implements MetadataStore {
  private readonly entries = new Map<string, VersionedValue>();
  private readonly watchers = new LocalWatchers();

  async get(key: string): Promise<VersionedValue | null> {
    return this.entries.get(key) ?? null;
  }

  async put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version> {
    const current = this.entries.get(key) ?? null;
    checkPrecondition(key, current, precondition);
    const next = { version: Version((current?.version ?? 0) + 1), value: Uint8Array.from(value) };
    this.entries.set(key, next);
    this.watchers.notify(key, next);
    return next.version;
  }

  async delete(key: string, precondition: Precondition): Promise<void> {
    checkPrecondition(key, this.entries.get(key) ?? null, precondition);
    this.entries.delete(key);
    this.watchers.notify(key, null);
  }

  watch(key: string, onChange: (event: MetadataWatchEvent) => void): () => void {
    return this.watchers.add(key, onChange);
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

}

/** Shared by every backend that evaluates preconditions itself. */
export function checkPrecondition(key: string, current: VersionedValue | null, precondition: Precondition): void {
  switch (precondition.kind) {
    case "none":
      return;
    case "does-not-exist":
      if (current !== null) throw new PreconditionFailedError(key, current.version);
      return;
    case "matches":
      if (current?.version !== precondition.version) throw new PreconditionFailedError(key, current?.version ?? null);
      return;
  }
}
