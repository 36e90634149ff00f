import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { toWireNodeId } from "../../src/net/node-id.ts";
import { NotWritableError } from "../../src/net/log-server-errors.ts";
import { LogServer } from "../../src/log-server/log-server.ts";
import { claimDataDir } from "../../src/log-server/storage-marker.ts";
import { storageStateOf, transitionStorageState } from "../../src/log-server/storage-state.ts";
import { decodeDocument, METADATA_KEYS, type NodesConfiguration, type StorageState } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import type { Precondition, VersionedValue } from "../../src/metadata/metadata-store.ts";
import { UnavailableError } from "../../src/types/errors.ts";
import { PlainNodeId, type Version } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { CLUSTER, enc, header, logServerClient, node, writeNodes, writeReplicatedLog } from "./helpers.ts";

/**
 * A metadata store with the failures a real one has: a put that is applied but whose answer is
 * lost, and calls refused while the store's leader changes.
 */
class FlakyMetadataStore extends InMemoryMetadataStore {
  /** Puts that are applied, then answered with an error. */
  lostAnswers = 0;
  /** Calls refused without effect (no leader). */
  leaderless = 0;
  /** Puts refused without effect, until set back to false. */
  writesDown = false;
  applied = 0;

  override async get(key: string): Promise<VersionedValue | null> {
    this.maybeLeaderless();
    return super.get(key);
  }

  override async put(key: string, value: Uint8Array, precondition: Precondition): Promise<Version> {
    this.maybeLeaderless();
    if (this.writesDown) throw new UnavailableError("metadata store has no quorum", "metadata_unavailable");
    await new Promise((r) => setImmediate(r));
    const version = await super.put(key, value, precondition);
    this.applied++;
    if (this.lostAnswers > 0) {
      this.lostAnswers--;
      throw new UnavailableError("connection reset after the write was applied", "metadata_unavailable");
    }
    return version;
  }

  private maybeLeaderless(): void {
    if (this.leaderless > 0) {
      this.leaderless--;
      throw new UnavailableError("metadata leader changed; retry", "metadata_not_leader");
    }
  }
}

async function stateOf(store: InMemoryMetadataStore): Promise<StorageState | null> {
  const config = decodeDocument<NodesConfiguration>((await store.get(METADATA_KEYS.nodesConfiguration))!.value);
  return storageStateOf(config, node(1));
}

describe("log-server provisioning is idempotent", () => {
  const tmp = tempDir("reprise-provisioning-");
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  after(() => {
    process.off("unhandledRejection", onUnhandled);
    tmp.remove();
    assert.deepEqual(unhandled, [], "no error escaped");
  });

  const start = (metadata: InMemoryMetadataStore, dir: string, generation: number) =>
    LogServer.start({ me: node(1, generation), clusterName: CLUSTER, dataDir: join(tmp.path, dir), metadata, port: 0, provisioningBackoffMs: 10 });

  it("converges when every answer to the applied write is lost and the leader changes", async () => {
    const metadata = new FlakyMetadataStore();
    await writeNodes(metadata, [{ id: 1 }]);
    metadata.applied = 0;
    metadata.lostAnswers = 1_000;
    metadata.leaderless = 5;
    const server = await start(metadata, "lost", 1);
    try {
      assert.equal(await server.ready(), "read-write");
      assert.equal(await stateOf(metadata), "read-write");
      assert.equal(metadata.applied, 1, "the retry saw the applied write and did not write again");
    } finally {
      await server.close();
    }
  });

  it("converges with concurrent transitions from two tasks and the server itself", async () => {
    const metadata = new FlakyMetadataStore();
    await writeNodes(metadata, [{ id: 1 }]);
    metadata.lostAnswers = 3;
    // The tasks transition for the same storage as the server: its directory, claimed first.
    const { marker } = claimDataDir(join(tmp.path, "concurrent"), node(1), CLUSTER);
    const task = () => transitionStorageState(metadata, node(1), "read-write", { from: ["provisioning"], backoffMs: 5, storageId: marker.storageId });
    const [a, b, server] = await Promise.all([task(), task(), start(metadata, "concurrent", 1)]);
    try {
      assert.deepEqual([a, b, await server.ready()], ["read-write", "read-write", "read-write"]);
      assert.equal(await stateOf(metadata), "read-write");
      // Late retries of the same transition keep succeeding without writes.
      const applied = metadata.applied;
      assert.deepEqual(await Promise.all(Array.from({ length: 20 }, task)), Array(20).fill("read-write"));
      assert.equal(metadata.applied, applied);
    } finally {
      await server.close();
    }
  });

  it("converges across restarts, serving (and refusing stores) while unsettled", async () => {
    const metadata = new FlakyMetadataStore();
    await writeNodes(metadata, [{ id: 1 }]);
    const loglet = await writeReplicatedLog(metadata, 1, { sequencer: node(9), nodeset: [PlainNodeId(1)], replication: 1 });
    metadata.writesDown = true;
    const first = await start(metadata, "restart", 1);
    const c1 = logServerClient(first.port);
    const store = (client: typeof c1.client) =>
      client.store({ header: header(node(9), loglet), sequencer: toWireNodeId(node(9)), firstOffset: 1, payloads: [enc("x")] });
    await assert.rejects(store(c1.client), (e) => e instanceof NotWritableError && e.retryable);
    c1.close();
    await first.close();
    assert.equal(await stateOf(metadata), "provisioning");

    // Restarted (new generation) while the store recovers; its first answers are lost.
    metadata.writesDown = false;
    metadata.lostAnswers = 2;
    const second = await start(metadata, "restart", 2);
    assert.equal(await second.ready(), "read-write");
    const c2 = logServerClient(second.port);
    await store(c2.client);
    c2.close();
    await second.close();

    // Another restart finds the transition done and its data in place.
    const third = await start(metadata, "restart", 3);
    try {
      assert.equal(await third.ready(), "read-write");
    } finally {
      await third.close();
    }
  });

  it("marks data-loss when a node that held data comes back with an empty directory", async () => {
    const metadata = new InMemoryMetadataStore();
    await writeNodes(metadata, [{ id: 1 }]);
    const loglet = await writeReplicatedLog(metadata, 1, { sequencer: node(9), nodeset: [PlainNodeId(1)], replication: 1 });
    const first = await start(metadata, "wiped", 1);
    assert.equal(await first.ready(), "read-write");
    await first.close();
    rmSync(join(tmp.path, "wiped"), { recursive: true });

    const second = await start(metadata, "wiped", 2);
    const c = logServerClient(second.port);
    try {
      assert.equal(await second.ready(), "data-loss");
      assert.equal(await stateOf(metadata), "data-loss");
      const info = await c.client.getLogletInfo({ header: header(node(9), loglet) });
      assert.equal(info.state?.authoritative, false, "its (empty) view of a loglet must not count towards a quorum");
      await assert.rejects(
        c.client.store({ header: header(node(9), loglet), sequencer: toWireNodeId(node(9)), firstOffset: 1, payloads: [enc("x")] }),
        (e) => e instanceof NotWritableError && !e.retryable,
      );
    } finally {
      c.close();
      await second.close();
    }
  });
});
