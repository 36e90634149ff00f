import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import type { BifrostImpl } from "../../src/bifrost/bifrost-impl.ts";
import { createLocalBifrost } from "../../src/bifrost/local/create-local-bifrost.ts";
import { rootLogger } from "../../src/common/logger.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { SnapshotBootstrap } from "../../src/snapshots/bootstrap.ts";
import { SnapshotRepositoryUnavailableError, TrimGapError } from "../../src/snapshots/errors.ts";
import { FileObjectStore } from "../../src/snapshots/file-object-store.ts";
import type { SnapshotManifest } from "../../src/snapshots/manifest.ts";
import type { ObjectStore } from "../../src/snapshots/object-store.ts";
import { SnapshotRepository } from "../../src/snapshots/repository.ts";
import { SnapshotTaker } from "../../src/snapshots/snapshot-taker.ts";
import { PartitionStore } from "../../src/storage/partition-store.ts";
import { LogId, Lsn, LSN_INVALID, PartitionId } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";

const P = PartitionId(0);
const LOG = LogId(0);
const CLUSTER = "bootstrap-test";

/** Commits state `n` for keys k0..k{n-1} and applied LSN `lsn`. */
function applyUpTo(store: PartitionStore, lsn: number): void {
  store.write((tx) => {
    for (let i = 0; i < lsn; i++) tx.setStateValue("Counter", `k${i}`, "value", Buffer.from(String(lsn)));
    tx.setAppliedLsn(Lsn(lsn));
  });
}

const contentOf = (store: PartitionStore) => store.read((tx) => ({ applied: tx.appliedLsn(), state: tx.listState().map((r) => `${r.key}=${Buffer.from(r.value).toString()}`) }));

/** An object store that fails its first `failures` calls as unreachable, then passes through. */
function flaky(inner: ObjectStore, failures: { left: number }): ObjectStore {
  const fail = <T>(op: () => Promise<T>): Promise<T> =>
    failures.left-- > 0 ? Promise.reject(new SnapshotRepositoryUnavailableError(inner.url, "list", new Error("connection refused"))) : op();
  return {
    url: inner.url,
    putFile: (k, p) => fail(() => inner.putFile(k, p)),
    putBytes: (k, b) => fail(() => inner.putBytes(k, b)),
    getBytes: (k) => fail(() => inner.getBytes(k)),
    getFile: (k, p) => fail(() => inner.getFile(k, p)),
    list: (p) => fail(() => inner.list(p)),
    delete: (k) => fail(() => inner.delete(k)),
    close: () => inner.close(),
  };
}

describe("bootstrap from a snapshot: newest usable first, refused ones skipped, gaps named", () => {
  const tmp = tempDir("reprise-bootstrap-");
  let bifrost: BifrostImpl;
  let source: PartitionStore;
  let objects: FileObjectStore;
  let repository: SnapshotRepository;
  let older: SnapshotManifest;
  let newer: SnapshotManifest;
  let contentAt10: ReturnType<typeof contentOf>;
  let contentAt20: ReturnType<typeof contentOf>;
  let n = 0;

  before(async () => {
    bifrost = await createLocalBifrost(join(tmp.path, "bifrost"), new InMemoryMetadataStore());
    await bifrost.append(LOG, Array.from({ length: 30 }, (_, i) => Buffer.from(`r${i}`)));
    source = new PartitionStore(join(tmp.path, "source.sqlite"));
    objects = new FileObjectStore(join(tmp.path, "repo"));
    repository = new SnapshotRepository(objects, rootLogger);
    const taker = new SnapshotTaker({ repository, workDir: join(tmp.path, "work"), clusterName: CLUSTER, nodeName: "n1", numRetained: 5, logger: rootLogger });
    applyUpTo(source, 10);
    contentAt10 = contentOf(source);
    older = await taker.take(P, source.path);
    applyUpTo(source, 20);
    contentAt20 = contentOf(source);
    newer = await taker.take(P, source.path);
  });

  after(async () => {
    source.close();
    await bifrost.close();
    tmp.remove();
  });

  let target: PartitionStore;
  beforeEach(() => {
    target = new PartitionStore(join(tmp.path, `target-${n++}.sqlite`));
  });
  const bootstrap = (repo = repository, clusterName = CLUSTER) => new SnapshotBootstrap({ repository: repo, bifrost, clusterName, workDir: join(tmp.path, "downloads"), logger: rootLogger });
  const restore = (required: Lsn, b = bootstrap()) => b.restore({ partitionId: P, logId: LOG, store: target, required, signal: new AbortController().signal });
  const dataKey = (m: SnapshotManifest) => `p${P}/lsn-${String(m.appliedLsn).padStart(20, "0")}-${m.snapshotId}/data.sqlite`;
  const manifestKey = (m: SnapshotManifest) => dataKey(m).replace("data.sqlite", "manifest.json");
  /** Runs `fn` with the newer snapshot's object replaced, then puts the original back. */
  const withAltered = async (key: string, bytes: Buffer | null, fn: () => Promise<void>) => {
    const original = await objects.getBytes(key);
    if (bytes === null) await objects.delete(key);
    else {
      const file = join(tmp.path, `altered-${n++}`);
      writeFileSync(file, bytes);
      await objects.putFile(key, file);
    }
    try {
      await fn();
    } finally {
      await objects.putBytes(key, original!);
    }
  };

  it("installs the newest snapshot into an empty store", async () => {
    assert.equal(await restore(LSN_INVALID), 20);
    assert.deepEqual(contentOf(target), contentAt20);
  });

  it("refuses a snapshot with a flipped byte and installs the next older one", async () => {
    const file = join(tmp.path, `copy-${n++}`);
    assert.ok(await objects.getFile(dataKey(newer), file));
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0x01;
    await withAltered(dataKey(newer), bytes, async () => {
      assert.equal(await restore(LSN_INVALID), 10);
      assert.deepEqual(contentOf(target), contentAt10);
    });
  });

  it("refuses a truncated snapshot, and one without its manifest is not even listed", async () => {
    const file = join(tmp.path, `copy-${n++}`);
    assert.ok(await objects.getFile(dataKey(newer), file));
    await withAltered(dataKey(newer), readFileSync(file).subarray(0, 4096), async () => {
      assert.equal(await restore(LSN_INVALID), 10);
    });
    await withAltered(manifestKey(newer), null, async () => {
      const fresh = new PartitionStore(join(tmp.path, `target-${n++}.sqlite`));
      assert.equal(await bootstrap().restore({ partitionId: P, logId: LOG, store: fresh, required: LSN_INVALID, signal: new AbortController().signal }), 10);
      fresh.close();
    });
  });

  it("needs a snapshot at or past the gap: one below it is of no use, and none is a TrimGapError naming partition, gap and setting", async () => {
    assert.equal(await restore(Lsn(15)), 20);
    const behind = new PartitionStore(join(tmp.path, `target-${n++}.sqlite`));
    await assert.rejects(
      bootstrap().restore({ partitionId: P, logId: LOG, store: behind, required: Lsn(25), signal: new AbortController().signal }),
      (e: unknown) =>
        e instanceof TrimGapError &&
        /^partition 0: its log is trimmed up to LSN 25, but its store has applied only up to LSN 0, so records 1\.\.25 are gone/.test(e.message) &&
        /newest usable snapshot is at LSN 20/.test(e.message) &&
        /snapshots\.destination \(--snapshot-destination\)/.test(e.message),
    );
    assert.equal(behind.read((tx) => tx.appliedLsn()), 0, "nothing was installed");
    behind.close();
  });

  it("refuses snapshots of another cluster and ones beyond the log's tail", async () => {
    assert.equal(await restore(LSN_INVALID, bootstrap(repository, "another-cluster")), 0);
    const shortLog = await createLocalBifrost(join(tmp.path, `short-${n++}`), new InMemoryMetadataStore());
    await shortLog.append(LOG, Array.from({ length: 15 }, () => Buffer.from("r")));
    const b = new SnapshotBootstrap({ repository, bifrost: shortLog, clusterName: CLUSTER, workDir: join(tmp.path, "downloads"), logger: rootLogger });
    assert.equal(await restore(LSN_INVALID, b), 10, "the LSN 20 snapshot is past this log's tail 16");
    await shortLog.close();
  });

  it("an unreachable repository: skipped when the log can fill an empty store, retried with backoff when a gap needs it", async () => {
    const failures = { left: 100 };
    const unreachable = new SnapshotRepository(flaky(objects, failures), rootLogger);
    const started = Date.now();
    assert.equal(await restore(LSN_INVALID, bootstrap(unreachable)), 0);
    assert.ok(Date.now() - started < 1_000, "no waiting when the snapshot only saves replay time");
    failures.left = 2;
    const retried = Date.now();
    assert.equal(await restore(Lsn(15), bootstrap(unreachable)), 20);
    assert.ok(Date.now() - retried >= 1_400, "two failed attempts were retried after 500 ms and 1 s");
  });
});
