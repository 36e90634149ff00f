/**
 * The bytes side of a snapshot repository: named objects under one root (a directory or an S3
 * bucket prefix). Keys are relative and `/`-separated. Every failure to reach the store is a
 * `SnapshotRepositoryUnavailableError` (retryable).
 */
export interface ObjectStore {
  /** Where the objects live, for messages: `file:///dir` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Stores the file at `path` as `key`; once it resolves the object is durable and readers see all of it or nothing. */
  putFile(key: string, path: string): Promise<void>;
  putBytes(key: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or null if there is no such object. */
  getBytes(key: string): Promise<Uint8Array | null>;
  /** Writes the object to `path`; false if there is no such object. */
  getFile(key: string, path: string): Promise<boolean>;
  /** Keys that start with `prefix`, in no particular order. */
  list(prefix: string): Promise<string[]>;
  /** Removes the object; removing one that does not exist is not an error. */
  delete(key: string): Promise<void>;
  close(): void;
}
