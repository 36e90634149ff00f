import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FileObjectStore } from "./file-object-store.ts";
import type { ObjectStore } from "./object-store.ts";
import { S3ObjectStore, type S3Settings } from "./s3-object-store.ts";

/** Where a node's snapshots go, as configured (`snapshots.destination`). */
export type SnapshotDestination =
  | { readonly kind: "none" }
  | { readonly kind: "file"; readonly dir: string }
  | { readonly kind: "s3"; readonly bucket: string; readonly prefix: string };

/** The directory of a single node's default repository, under its base dir. */
export const DEFAULT_SNAPSHOT_DIR = "snapshots";

/**
 * Parses `snapshots.destination`: `none`, `file:///absolute/dir`, `s3://bucket[/prefix]`, or empty
 * for the default: `file://<base-dir>/snapshots` on a single node, none in a cluster (whose nodes
 * cannot share a local directory). Throws an `Error` saying what is wrong; config validation names
 * the setting.
 */
export function parseSnapshotDestination(value: string, defaults: { readonly baseDir: string; readonly cluster: boolean }): SnapshotDestination {
  const text = value.trim();
  if (text === "") return defaults.cluster ? { kind: "none" } : { kind: "file", dir: join(defaults.baseDir, DEFAULT_SNAPSHOT_DIR) };
  if (text === "none") return { kind: "none" };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`'${text}' is not a URL: use none, file:///absolute/dir or s3://bucket/prefix`);
  }
  if (url.protocol === "file:") {
    const dir = fileURLToPath(url);
    if (!isAbsolute(dir)) throw new Error(`'${text}' must name an absolute directory`);
    return { kind: "file", dir };
  }
  if (url.protocol === "s3:") {
    if (url.hostname === "") throw new Error(`'${text}' names no bucket: use s3://bucket/prefix`);
    return { kind: "s3", bucket: url.hostname, prefix: decodeURIComponent(url.pathname.replace(/^\/+/, "")) };
  }
  throw new Error(`'${text}': unsupported scheme '${url.protocol}', use file:// or s3://`);
}

/** The object store behind a destination; null for `none`. */
export function openObjectStore(destination: SnapshotDestination, s3: S3Settings): ObjectStore | null {
  switch (destination.kind) {
    case "none":
      return null;
    case "file":
      return new FileObjectStore(destination.dir);
    case "s3":
      return new S3ObjectStore(destination.bucket, destination.prefix, s3);
  }
}
