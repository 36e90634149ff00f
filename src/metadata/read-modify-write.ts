import type { Version } from "../types/ids.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { RepriseError, UnavailableError } from "../types/errors.ts";
import { PreconditionFailedError, type MetadataStore } from "./metadata-store.ts";

export interface DocumentCodec<T> {
  encode(doc: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/**
 * The one way control-plane documents change: read, apply `update`, put-if-version; on a
 * concurrent change re-read and re-apply. `update` returning "unchanged" means the change is
 * already there, which is success — so retrying after a lost response converges.
 */
export async function readModifyWrite<T>(
  store: MetadataStore,
  key: string,
  codec: DocumentCodec<T>,
  update: (current: T | null) => T | "unchanged",
  maxAttempts = 32,
): Promise<{ value: T; version: Version }> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await store.get(key);
    const doc = current ? codec.decode(current.value) : null;
    const next = update(doc);
    if (next === "unchanged") {
      if (!current || doc === null) throw new TypeError(`update of '${key}' returned "unchanged" for a missing document`);
      return { value: doc, version: current.version };
    }
    try {
      const version = await store.put(key, codec.encode(next), current ? { kind: "matches", version: current.version } : { kind: "does-not-exist" });
      return { value: next, version };
    } catch (e) {
      if (!(e instanceof PreconditionFailedError)) throw e;
      // Someone else won the race: back off a little (jittered) and re-apply on their version.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }
  throw new UnavailableError(`metadata key '${key}' kept changing concurrently; gave up after ${maxAttempts} attempts`, "metadata_contention");
}

export interface RetryOptions {
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * Runs a control-plane transition until it settles. Each attempt re-reads what it changes, so a
 * retryable failure (store unreachable, answer lost, leader changed) is retried after a capped
 * exponential pause; any other failure is final. When the attempts run out, throws
 * `exhausted(last retryable error)`.
 */
export async function retryTransition<T>(
  attempt: () => Promise<T>,
  options: RetryOptions & { readonly defaultAttempts: number },
  exhausted: (attempts: number, cause: unknown) => Error,
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? options.defaultAttempts;
  const backoffMs = options.backoffMs ?? 50;
  let lastError: unknown = null;
  for (let n = 0; n < maxAttempts; n++) {
    options.signal?.throwIfAborted();
    if (n > 0) await sleep(Math.min(backoffMs * 2 ** Math.min(n - 1, 5), 2_000), undefined, { signal: options.signal });
    try {
      return await attempt();
    } catch (e) {
      if (!(e instanceof RepriseError && e.retryable)) throw e;
      lastError = e;
    }
  }
  throw exhausted(maxAttempts, lastError);
}
