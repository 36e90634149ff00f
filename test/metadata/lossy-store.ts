import type { MetadataStore, MetadataWatchEvent, Precondition, VersionedValue } from "../../src/metadata/metadata-store.ts";
import { UnavailableError } from "../../src/types/errors.ts";
import type { Version } from "../../src/types/ids.ts";

/**
 * Wraps a real store with the failure that makes control-plane retries dangerous: the write is
 * applied, then its answer is lost. Everything else passes through to the inner store.
 */
export class LossyMetadataStore implements MetadataStore {
  /** Puts the inner store applied (whatever the caller was told). */
  applied = 0;
  /** Calls the inner store itself failed (e.g. its server was down). */
  innerFailures = 0;
  /** Answers still to drop after an applied put; `Infinity` drops them all. */
  dropAnswers = 0;
  /** Once a put is applied, refuse every later call: the node lost the store right after writing. */
  partitionAfterApplied = false;
  /** Calls refused while partitioned. */
  refused = 0;
  private partitioned = false;

  constructor(private readonly inner: MetadataStore) {}

  async get(key: string): Promise<VersionedValue | null> {
    this.checkReachable();
    return this.counted(this.inner.get(key));
  }

  async put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version> {
    this.checkReachable();
    const version = await this.counted(this.inner.put(key, value, precondition));
    this.applied++;
    if (this.partitionAfterApplied) this.partitioned = true;
    if (this.dropAnswers > 0) {
      this.dropAnswers--;
      throw new UnavailableError(`answer to the applied put of '${key}' was lost`, "metadata_unavailable");
    }
    return version;
  }

  async delete(key: string, precondition: Precondition): Promise<void> {
    this.checkReachable();
    await this.counted(this.inner.delete(key, precondition));
  }

  watch(key: string, onChange: (event: MetadataWatchEvent) => void): () => void {
    return this.inner.watch(key, onChange);
  }

  /** Ends the partition: later calls reach the inner store again (`partitionAfterApplied` is cleared). */
  heal(): void {
    this.partitionAfterApplied = false;
    this.partitioned = false;
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  /** The inner store belongs to the test, which closes it. */
  async close(): Promise<void> {}

  private async counted<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (e) {
      this.innerFailures++;
      throw e;
    }
  }

  private checkReachable(): void {
    if (!this.partitioned) return;
    this.refused++;
    throw new UnavailableError("metadata store unreachable", "metadata_unavailable");
  }
}
