import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { checkNotFenced, FencedNodeError, joinCluster } from "../../src/cluster/node-identity.ts";
import { LogServer } from "../../src/log-server/log-server.ts";
import { storageStateOf, transitionStorageState } from "../../src/log-server/storage-state.ts";
import { METADATA_KEYS, NODES_CODEC } from "../../src/metadata/documents.ts";
import { EmbeddedMetadataStore } from "../../src/metadata/embedded-store.ts";
import { EtcdMetadataStore } from "../../src/metadata/etcd-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import type { GenerationalNodeId } from "../../src/types/ids.ts";
import { startEtcd, type EtcdServer } from "../support/etcd.ts";
import { tempDir } from "../support/temp.ts";
import { LossyMetadataStore } from "../metadata/lossy-store.ts";

/**
 * The failure this issue is about: a log server's `provisioning → read-write` write is applied but
 * its answer lost, the metadata server restarts, the transition is retried concurrently and across
 * a node restart. Run on the real backends: every run must end `read-write` with no error escaping.
 */

const CLUSTER = "provisioning-test";
const JOIN = { clusterName: CLUSTER, name: "log-1", address: "127.0.0.1:1", roles: ["log-server" as const] };

interface Backend {
  /** A new client (a new process's view) of the same stored metadata. */
  open(): MetadataStore;
  /** Restarts the metadata server, if the backend has one, once `ready()` says to. */
  restartServer?(ready: () => boolean): Promise<void>;
}

const tmp = tempDir("reprise-provisioning-");
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);
process.on("unhandledRejection", onUnhandled);
process.on("uncaughtException", onUnhandled);
after(() => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
  tmp.remove();
  assert.deepEqual(unhandled, [], "no error escaped");
});

async function storageState(store: MetadataStore, node: GenerationalNodeId): Promise<string | null> {
  return storageStateOf(NODES_CODEC.decode((await store.get(METADATA_KEYS.nodesConfiguration))!.value), node);
}

/** The transition as a log server makes it for the storage `storageId` (its data directory's). */
const transition = (store: MetadataStore, node: GenerationalNodeId, storageId?: string) =>
  transitionStorageState(store, node, "read-write", { from: ["provisioning"], backoffMs: 5, maxAttempts: 200, ...(storageId !== undefined ? { storageId } : {}) });

function provisioningSuite(name: string, backend: () => Backend): void {
  describe(`provisioning → read-write converges (${name})`, () => {
    it("with every answer lost, two concurrent tasks, the log server itself and a metadata-server restart", async () => {
      const b = backend();
      const store = b.open();
      const dataDir = join(tmp.path, randomUUID());
      let server: LogServer | null = null;
      try {
        const me = await joinCluster(store, JOIN);
        const lossy = new LossyMetadataStore(store);
        lossy.dropAnswers = Infinity;
        let restarted = false;
        // The server claims its data directory before anything else; only then is read-write in the
        // metadata this node's own doing (before that it would mean data was lost).
        server = await LogServer.start({ me, clusterName: CLUSTER, dataDir, metadata: lossy, port: 0, provisioningBackoffMs: 10 });
        const storageId = server.storage.id;
        const racing = Promise.all([
          server.ready(),
          // Two tasks retry the transition until the metadata server has restarted, and a bit more.
          ...Array.from({ length: 2 }, async () => {
            const results = [];
            for (let i = 0; i < 10 || !restarted; i++) results.push(await transition(lossy, me, storageId));
            return results;
          }),
        ]);
        // Restart once the transition was applied with its answer lost: the retries meet a store that is down.
        await b.restartServer?.(() => lossy.applied > 0);
        restarted = true;
        const [serverState, ...tasks] = await racing;
        assert.equal(serverState, "read-write");
        assert.ok(tasks.every((t) => t.length >= 10 && t.every((s) => s === "read-write")));
        if (b.restartServer) assert.ok(lossy.innerFailures > 0, "the retries did meet the restarting server");
        assert.equal(await storageState(store, me), "read-write");
        assert.ok(lossy.applied <= 1, `one write did the transition (${lossy.applied})`);
        // Late retries keep succeeding and write nothing.
        const applied = lossy.applied;
        assert.deepEqual(await Promise.all(Array.from({ length: 10 }, () => transition(lossy, me, storageId))), Array(10).fill("read-write"));
        assert.equal(lossy.applied, applied);
      } finally {
        await server?.close();
        await store.close();
      }
    });

    it("when the node loses the store right after its write is applied and restarts with a new generation", async () => {
      const b = backend();
      const dataDir = join(tmp.path, randomUUID());
      // First process: its transition is applied, then the store is gone for it; it is stopped unsettled.
      const firstStore = b.open();
      const first = await joinCluster(firstStore, JOIN);
      const lossy = new LossyMetadataStore(firstStore);
      lossy.dropAnswers = Infinity;
      lossy.partitionAfterApplied = true;
      const firstServer = await LogServer.start({ me: first, clusterName: CLUSTER, dataDir, metadata: lossy, port: 0, provisioningBackoffMs: 10 });
      while (lossy.applied === 0) await sleep(5);
      await firstServer.close();
      assert.equal(await firstServer.ready(), "provisioning", "the first process never learned the outcome");
      await firstStore.close();

      // Restart: a new process with a new client on the same metadata and the same data directory.
      const store = b.open();
      const lossyAgain = new LossyMetadataStore(store);
      lossyAgain.dropAnswers = Infinity;
      try {
        const second = await joinCluster(store, JOIN);
        assert.deepEqual(second, { id: first.id, generation: first.generation + 1 });
        assert.equal(await storageState(store, second), "read-write", "the restart kept the applied transition");
        const server = await LogServer.start({ me: second, clusterName: CLUSTER, dataDir, metadata: lossyAgain, port: 0, provisioningBackoffMs: 10 });
        try {
          const [state, a, c] = await Promise.all([server.ready(), transition(lossyAgain, second, server.storage.id), transition(lossyAgain, second, server.storage.id)]);
          assert.deepEqual([state, a, c], ["read-write", "read-write", "read-write"]);
          assert.equal(server.fenced, false);
          assert.equal(lossyAgain.applied, 0, "nothing left to write");
        } finally {
          await server.close();
        }

        // The superseded generation is refused, by the transition and by the plain check.
        await assert.rejects(transition(store, first), (e) => e instanceof FencedNodeError && e.code === "node_fenced" && !e.retryable);
        const config = NODES_CODEC.decode((await store.get(METADATA_KEYS.nodesConfiguration))!.value);
        assert.throws(() => checkNotFenced(config, first), FencedNodeError);
      } finally {
        await store.close();
      }
    });
  });
}

provisioningSuite("embedded", () => {
  const file = join(tmp.path, `${randomUUID()}.db`);
  return { open: () => new EmbeddedMetadataStore(file) };
});

describe("on a real etcd", () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.remove();
  });
  provisioningSuite("etcd", () => {
    const prefix = `/${randomUUID()}/`;
    return {
      open: () => new EtcdMetadataStore({ endpoints: [etcd.endpoint], prefix, callTimeoutMs: 1_000 }),
      restartServer: async (ready) => {
        while (!ready()) await sleep(1);
        await etcd.kill();
        await sleep(200);
        await etcd.restart();
      },
    };
  });
});
