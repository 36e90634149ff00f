import { RepriseError } from "../types/errors.ts";
import type { Version } from "../types/ids.ts";

export interface VersionedValue {
  readonly version: Version;
  readonly value: Uint8Array;
}

/** When a write may happen. Every control-plane write in a cluster uses `matches`. */
export type Precondition =
  | { readonly kind: "none" }
  | { readonly kind: "does-not-exist" }
  | { readonly kind: "matches"; readonly version: Version };

export type MetadataWatchEvent = { readonly key: string; readonly value: VersionedValue | null };

/**
 * Versioned key-value store for cluster metadata. Versions start at 1 on create and grow by one on
 * each successful put; a put's precondition is checked atomically with the write.
 */
export interface MetadataStore {
  get(key: string): Promise<VersionedValue | null>;
  /** Writes and returns the new version; throws PreconditionFailedError if the precondition fails. */
  put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version>;
  delete(key: string, precondition: Precondition): Promise<void>;
  /** Calls `onChange` for every change of `key` after the watch started; the returned function stops it. */
  watch(key: string, onChange: (event: MetadataWatchEvent) => void): () => void;
  close(): Promise<void>;
}

export class PreconditionFailedError extends RepriseError {
  constructor(
    readonly key: string,
    readonly currentVersion: Version | null,
  ) {
    super(
      "precondition_failed",
      `metadata key '${key}' changed concurrently (current version ${currentVersion ?? "absent"})`,
      true,
      409,
    );
  }
}
