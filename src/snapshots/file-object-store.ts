import { randomBytes } from "node:crypto";
import { copyFile, link, mkdir, open, readdir, readFile, rename, rmdir, unlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { SnapshotRepositoryUnavailableError } from "./errors.ts";
import type { ObjectStore } from "./object-store.ts";

/** Files being written carry this infix until renamed into place; listings skip them. */
const PARTIAL = ".partial-";

/**
 * Objects as files under a directory (`file://` repositories, the single-node default). A put
 * writes a temporary file, syncs it, renames it into place and syncs the directory, so a crash
 * leaves the old object or the new one, never a torn file.
 */
export class FileObjectStore implements ObjectStore {
  readonly url: string;

  constructor(private readonly root: string) {
    this.url = pathToFileURL(root).href;
  }

  /** Hard-links `path` into place when it is on the same file system (no second copy of a whole store to write), else copies it. */
  putFile(key: string, path: string): Promise<void> {
    return this.run("put", key, () =>
      this.writeAtomically(key, async (partial) => {
        try {
          await link(path, partial);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
          await copyFile(path, partial);
        }
      }),
    );
  }

  putBytes(key: string, bytes: Uint8Array): Promise<void> {
    return this.run("put", key, () =>
      this.writeAtomically(key, async (partial) => {
        const fh = await open(partial, "w");
        try {
          await fh.writeFile(bytes);
        } finally {
          await fh.close();
        }
      }),
    );
  }

  getBytes(key: string): Promise<Uint8Array | null> {
    return this.run("get", key, async () => {
      try {
        return await readFile(this.pathOf(key));
      } catch (e) {
        if (isMissing(e)) return null;
        throw e;
      }
    });
  }

  getFile(key: string, path: string): Promise<boolean> {
    return this.run("get", key, async () => {
      try {
        await copyFile(this.pathOf(key), path);
        return true;
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    });
  }

  list(prefix: string): Promise<string[]> {
    return this.run("list", prefix, async () => {
      let names: string[];
      try {
        names = await readdir(this.root, { recursive: true });
      } catch (e) {
        if (isMissing(e)) return [];
        throw e;
      }
      return names.map((n) => n.split(sep).join("/")).filter((k) => k.startsWith(prefix) && !k.includes(PARTIAL) && !k.endsWith("/"));
    });
  }

  delete(key: string): Promise<void> {
    return this.run("delete", key, async () => {
      try {
        await unlink(this.pathOf(key));
      } catch (e) {
        if (!isMissing(e)) throw e;
      }
      // Empty directories left by deleted snapshots go too; a non-empty one stays.
      for (let dir = dirname(this.pathOf(key)); relative(this.root, dir) !== ""; dir = dirname(dir)) {
        try {
          await rmdir(dir);
        } catch {
          break;
        }
      }
    });
  }

  close(): void {}

  private pathOf(key: string): string {
    const path = join(this.root, ...key.split("/"));
    if (relative(this.root, path).startsWith("..")) throw new Error(`object key '${key}' leaves the repository`);
    return path;
  }

  private async writeAtomically(key: string, write: (partial: string) => Promise<void>): Promise<void> {
    const target = this.pathOf(key);
    const created = await mkdir(dirname(target), { recursive: true });
    // A new directory's entry in its parent must be durable too, or a crash could lose the object.
    if (created !== undefined) {
      for (let dir = dirname(target); relative(dirname(created), dir) !== ""; dir = dirname(dir)) await syncPath(dirname(dir));
    }
    const partial = `${target}${PARTIAL}${randomBytes(6).toString("hex")}`;
    try {
      await write(partial);
      await syncPath(partial);
      await rename(partial, target);
    } catch (e) {
      await unlink(partial).catch(() => undefined);
      throw e;
    }
    await syncPath(dirname(target));
  }

  private async run<T>(operation: string, key: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new SnapshotRepositoryUnavailableError(this.url, `${operation} ${key}`, e);
    }
  }
}

async function syncPath(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === "ENOENT";
}
