import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { rootLogger } from "../../src/common/logger.ts";
import { InvalidSnapshotError } from "../../src/snapshots/errors.ts";
import { FileObjectStore } from "../../src/snapshots/file-object-store.ts";
import { SNAPSHOT_FORMAT_VERSION, type SnapshotManifest } from "../../src/snapshots/manifest.ts";
import type { ObjectStore } from "../../src/snapshots/object-store.ts";
import { sha256Of, SnapshotRepository } from "../../src/snapshots/repository.ts";
import { LeaderEpoch, Lsn, PartitionId } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { startS3Server, type S3Server } from "./s3-server.ts";

const P = PartitionId(3);

/** The same repository behaviour over every object store. */
function repositorySuite(name: string, open: (prefix: string) => ObjectStore): void {
  describe(`snapshot repository on ${name}`, () => {
    const tmp = tempDir("reprise-repo-");
    after(() => tmp.remove());
    let n = 0;

    /** A data file and its manifest, as the taker makes them. */
    const snapshotFile = async (lsn: number): Promise<{ file: string; manifest: SnapshotManifest }> => {
      const file = join(tmp.path, `data-${n++}`);
      writeFileSync(file, randomBytes(5_000 + lsn));
      const manifest: SnapshotManifest = {
        formatVersion: SNAPSHOT_FORMAT_VERSION,
        snapshotId: `s${n}x${lsn}`,
        partitionId: P,
        appliedLsn: Lsn(lsn),
        leaderEpoch: LeaderEpoch(2),
        clusterName: "c",
        nodeName: "n",
        createdAt: new Date().toISOString(),
        sizeBytes: statSync(file).size,
        sha256: await sha256Of(file),
      };
      return { file, manifest };
    };
    const fresh = () => {
      const objects = open(`t${n++}`);
      return { objects, repo: new SnapshotRepository(objects, rootLogger) };
    };
    const manifests = async (repo: SnapshotRepository) => (await repo.list(P)).map((s) => (s.ok ? s.manifest.appliedLsn : `bad ${s.appliedLsn}`));

    it("uploads data, manifest and pointer; lists newest first; downloads the same bytes", async () => {
      const { objects, repo } = fresh();
      const a = await snapshotFile(10);
      const b = await snapshotFile(20);
      assert.equal(await repo.latest(P), null);
      await repo.upload(a.manifest, a.file);
      await repo.upload(b.manifest, b.file);
      assert.deepEqual(await repo.latest(P), { snapshotId: b.manifest.snapshotId, appliedLsn: 20 });
      assert.deepEqual(await manifests(repo), [20, 10]);
      const listed = (await repo.list(P))[0];
      assert.ok(listed.ok);
      assert.deepEqual(listed.manifest, b.manifest);
      const out = join(tmp.path, `out-${n++}`);
      await repo.download(b.manifest, out);
      assert.deepEqual(readFileSync(out), readFileSync(b.file));
      // An older snapshot uploaded later (another node, slower) never moves the pointer back.
      const late = await snapshotFile(15);
      await repo.upload(late.manifest, late.file);
      assert.equal((await repo.latest(P))?.appliedLsn, 20);
      objects.close();
    });

    it("never lists an unfinished upload (data without manifest)", async () => {
      const { objects, repo } = fresh();
      const a = await snapshotFile(10);
      await repo.upload(a.manifest, a.file);
      const b = await snapshotFile(30);
      await objects.putFile(`p${P}/lsn-${String(30).padStart(20, "0")}-${b.manifest.snapshotId}/data.sqlite`, b.file);
      assert.deepEqual(await manifests(repo), [10]);
      assert.equal((await repo.latest(P))?.appliedLsn, 10);
      objects.close();
    });

    it("refuses a flipped byte, a truncated data file and a garbled manifest", async () => {
      const { objects, repo } = fresh();
      const a = await snapshotFile(40);
      await repo.upload(a.manifest, a.file);
      const dir = `p${P}/lsn-${String(40).padStart(20, "0")}-${a.manifest.snapshotId}`;
      const bytes = readFileSync(a.file);
      const flipped = Buffer.from(bytes);
      flipped[1234] ^= 0xff;
      const altered = join(tmp.path, `altered-${n++}`);
      writeFileSync(altered, flipped);
      await objects.putFile(`${dir}/data.sqlite`, altered);
      const out = join(tmp.path, `out-${n++}`);
      await assert.rejects(repo.download(a.manifest, out), (e: unknown) => e instanceof InvalidSnapshotError && /checksum mismatch/.test(e.message));
      writeFileSync(altered, bytes.subarray(0, bytes.length - 10));
      await objects.putFile(`${dir}/data.sqlite`, altered);
      await assert.rejects(repo.download(a.manifest, out), (e: unknown) => e instanceof InvalidSnapshotError && /has \d+ bytes, the manifest says/.test(e.message));
      await objects.putBytes(`${dir}/manifest.json`, Buffer.from('{"formatVersion": 1, "snapshotId": '));
      const [listed] = await repo.list(P);
      assert.ok(!listed.ok);
      assert.match(listed.error.message, /manifest is not JSON/);
      objects.close();
    });

    it("keeps the num_retained newest complete snapshots and deletes the rest", async () => {
      const { objects, repo } = fresh();
      for (const lsn of [5, 10, 15, 20]) {
        const s = await snapshotFile(lsn);
        await repo.upload(s.manifest, s.file);
      }
      const unfinished = await snapshotFile(25);
      await objects.putFile(`p${P}/lsn-${String(25).padStart(20, "0")}-${unfinished.manifest.snapshotId}/data.sqlite`, unfinished.file);
      await repo.prune(P, 2);
      assert.deepEqual(await manifests(repo), [20, 15]);
      const keys = await objects.list(`p${P}/`);
      assert.equal(keys.filter((k) => k.endsWith("data.sqlite")).length, 3, "the two kept and the newer upload still under way");
      assert.ok(keys.includes(`p${P}/latest.json`));
      objects.close();
    });
  });
}

const files = tempDir("reprise-file-repo-");
after(() => files.remove());
repositorySuite("file://", (prefix) => new FileObjectStore(join(files.path, prefix)));

let s3: S3Server;
before(async () => {
  s3 = await startS3Server();
});
after(() => s3.stop());
repositorySuite("s3:// (s3rver)", (prefix) => s3.store(prefix));
