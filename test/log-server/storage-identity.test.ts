import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { LogServer } from "../../src/log-server/log-server.ts";
import { provisioningChange } from "../../src/log-server/storage-state.ts";
import { decodeDocument, METADATA_KEYS, type NodeConfig, type NodesConfiguration, type StorageState } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { PlainNodeId } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { LossyMetadataStore } from "../metadata/lossy-store.ts";
import { CLUSTER, node, writeNodes } from "./helpers.ts";

/** Retries of one provisioning round, kept small so an outage outlasts them in milliseconds. */
const INNER_RETRY = { maxAttempts: 4, backoffMs: 2 };

function mineOf(bytes: Uint8Array): NodeConfig["logServer"] {
  return decodeDocument<NodesConfiguration>(bytes).nodes.find((n) => n.id === 1)?.logServer;
}

/** Every storage state the store ever held for node 1, in order. */
function recordStates(store: InMemoryMetadataStore): { states: StorageState[]; stop: () => void } {
  const states: StorageState[] = [];
  const stop = store.watch(METADATA_KEYS.nodesConfiguration, (e) => {
    const state = e.value && mineOf(e.value.value)?.storageState;
    if (state && states.at(-1) !== state) states.push(state);
  });
  return { states, stop };
}

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("log-server storage identity in NodesConfiguration", () => {
  const tmp = tempDir("reprise-storage-identity-");
  after(() => tmp.remove());

  const start = (metadata: LossyMetadataStore | InMemoryMetadataStore, dir: string, generation: number) =>
    LogServer.start({
      me: node(1, generation),
      clusterName: CLUSTER,
      dataDir: join(tmp.path, dir),
      metadata,
      port: 0,
      provisioningBackoffMs: 10,
      provisioningRetry: INNER_RETRY,
    });

  it("ends read-write, never data-loss, when its applied write's answer is lost and the store stays away longer than every retry", async () => {
    const inner = new InMemoryMetadataStore();
    await writeNodes(inner, [{ id: 1 }]);
    const history = recordStates(inner);
    const lossy = new LossyMetadataStore(inner);
    lossy.dropAnswers = 1;
    lossy.partitionAfterApplied = true;
    const server = await start(lossy, "outage", 1);
    try {
      await until("the write to be applied", () => lossy.applied === 1);
      // Three rounds' worth of refused calls: the first round's retries ran out, and later rounds failed too.
      await until("the outage to outlast the retries", () => lossy.refused >= 3 * (INNER_RETRY.maxAttempts + 1));
      assert.equal(server.storageState, "provisioning", "the server never learned that its write was applied");
      assert.equal(mineOf((await inner.get(METADATA_KEYS.nodesConfiguration))!.value)?.storageState, "read-write");

      lossy.heal();
      assert.equal(await server.ready(), "read-write");
      const recorded = mineOf((await inner.get(METADATA_KEYS.nodesConfiguration))!.value);
      assert.deepEqual(recorded, { storageState: "read-write", storageId: server.storage.id });
      assert.equal(lossy.applied, 1, "the retry recognised its own write and wrote nothing");
      assert.deepEqual(history.states, ["read-write"], "never data-loss");
    } finally {
      history.stop();
      await server.close();
    }
  });

  it("still marks data-loss for a wiped directory of a provisioned node, through the same outage", async () => {
    const inner = new InMemoryMetadataStore();
    await writeNodes(inner, [{ id: 1 }]);
    const first = await start(inner, "wiped", 1);
    assert.equal(await first.ready(), "read-write");
    const lostStorage = first.storage.id;
    await first.close();
    rmSync(join(tmp.path, "wiped"), { recursive: true });

    const lossy = new LossyMetadataStore(inner);
    lossy.dropAnswers = 1;
    lossy.partitionAfterApplied = true;
    const second = await start(lossy, "wiped", 2);
    try {
      assert.equal(second.storage.fresh, true);
      assert.notEqual(second.storage.id, lostStorage, "a wiped directory is a new storage");
      await until("the outage to outlast the retries", () => lossy.refused >= 3 * (INNER_RETRY.maxAttempts + 1));
      lossy.heal();
      assert.equal(await second.ready(), "data-loss");
      assert.deepEqual(mineOf((await inner.get(METADATA_KEYS.nodesConfiguration))!.value), { storageState: "data-loss", storageId: second.storage.id });
    } finally {
      await second.close();
    }

    // The wiped node restarted on the same (new) directory stays data-loss: an operator decides.
    const third = await start(inner, "wiped", 3);
    try {
      assert.equal(await third.ready(), "data-loss");
    } finally {
      await third.close();
    }
  });

  describe("provisioningChange decides on the recorded state and storage", () => {
    const entry = (logServer?: NodeConfig["logServer"]): NodeConfig => ({
      id: PlainNodeId(1),
      generation: 1,
      name: "n1",
      address: "127.0.0.1:1",
      roles: ["log-server"],
      ...(logServer ? { logServer } : {}),
    });
    const mine = { id: "storage-a", fresh: false };
    const cases: Array<[string, NodeConfig["logServer"] | undefined, { id: string; fresh: boolean }, ReturnType<typeof provisioningChange>]> = [
      ["provisioning becomes read-write for this storage", { storageState: "provisioning" }, mine, { storageState: "read-write", storageId: "storage-a" }],
      ["no log-server entry counts as provisioning", undefined, mine, { storageState: "read-write", storageId: "storage-a" }],
      ["its own read-write stands", { storageState: "read-write", storageId: "storage-a" }, mine, "unchanged"],
      ["its own read-write stands, fresh or not", { storageState: "read-write", storageId: "storage-a" }, { ...mine, fresh: true }, "unchanged"],
      ["its own read-only stands", { storageState: "read-only", storageId: "storage-a" }, mine, "unchanged"],
      ["read-write of another storage is data lost", { storageState: "read-write", storageId: "storage-b" }, mine, { storageState: "data-loss", storageId: "storage-a" }],
      ["read-only of another storage is data lost", { storageState: "read-only", storageId: "storage-b" }, mine, { storageState: "data-loss", storageId: "storage-a" }],
      ["an older document's read-write and an existing directory: adopted", { storageState: "read-write" }, mine, { storageState: "read-write", storageId: "storage-a" }],
      ["an older document's read-write and a new directory: data lost", { storageState: "read-write" }, { ...mine, fresh: true }, { storageState: "data-loss", storageId: "storage-a" }],
      ["data-loss is an operator's to clear", { storageState: "data-loss", storageId: "storage-b" }, mine, "unchanged"],
      ["disabled is an operator's", { storageState: "disabled" }, mine, "unchanged"],
    ];
    for (const [name, recorded, storage, expected] of cases) {
      it(name, () => assert.deepEqual(provisioningChange(entry(recorded), storage), expected));
    }
  });
});
