import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkNotFenced, FencedNodeError, isFenced, joinCluster, type JoinRequest } from "../../src/cluster/node-identity.ts";
import { METADATA_KEYS, NODES_CODEC, type NodesConfiguration } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { BadRequestError, UnavailableError } from "../../src/types/errors.ts";
import { PlainNodeId, type GenerationalNodeId } from "../../src/types/ids.ts";
import { LossyMetadataStore } from "../metadata/lossy-store.ts";

const CLUSTER = "identity-test";
const request = (name: string, overrides: Partial<JoinRequest> = {}): JoinRequest => ({
  clusterName: CLUSTER,
  name,
  address: `127.0.0.1:${1000 + name.length}`,
  roles: ["log-server"],
  ...overrides,
});
const nid = (id: number, generation: number): GenerationalNodeId => ({ id: PlainNodeId(id), generation });

async function nodesConfig(store: MetadataStore): Promise<NodesConfiguration> {
  return NODES_CODEC.decode((await store.get(METADATA_KEYS.nodesConfiguration))!.value);
}

describe("node identity", () => {
  it("gives a new name the next id at generation 1 and a known name its id at the next generation", async () => {
    const store = new InMemoryMetadataStore();
    assert.deepEqual(await joinCluster(store, request("a")), nid(1, 1));
    assert.deepEqual(await joinCluster(store, request("b", { roles: ["worker"] })), nid(2, 1));
    assert.deepEqual(await joinCluster(store, request("a", { address: "127.0.0.1:9" })), nid(1, 2));
    assert.deepEqual(await joinCluster(store, request("c")), nid(3, 1));
    const config = await nodesConfig(store);
    assert.equal(config.clusterName, CLUSTER);
    const a = config.nodes.find((n) => n.name === "a")!;
    assert.deepEqual([a.id, a.generation, a.address, a.logServer?.storageState], [1, 2, "127.0.0.1:9", "provisioning"]);
    assert.equal(config.nodes.find((n) => n.name === "b")!.logServer, undefined, "only log servers have a storage state");
  });

  it("keeps a log server's storage state across a restart and never reuses an id", async () => {
    const store = new InMemoryMetadataStore();
    await joinCluster(store, request("a"));
    await joinCluster(store, request("b"));
    // An operator removed node 1 and moved node 2 to read-write.
    const config = await nodesConfig(store);
    await store.put(
      METADATA_KEYS.nodesConfiguration,
      NODES_CODEC.encode({ ...config, nodes: config.nodes.filter((n) => n.id !== 1).map((n) => ({ ...n, logServer: { storageState: "read-write" } })) }),
      { kind: "none" },
    );
    assert.deepEqual(await joinCluster(store, request("b")), nid(2, 2));
    assert.equal((await nodesConfig(store)).nodes.find((n) => n.id === 2)?.logServer?.storageState, "read-write");
    assert.deepEqual(await joinCluster(store, request("new")), nid(3, 1), "id 1 may still be named by old segments");
  });

  it("gives concurrent joins of different names distinct ids", async () => {
    const store = new InMemoryMetadataStore();
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => joinCluster(store, request(`n${i}`))));
    assert.deepEqual(ids.map((n) => n.id).sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i + 1));
    assert.ok(ids.every((n) => n.generation === 1));
  });

  it("refuses metadata of another cluster with a terminal error", async () => {
    const store = new InMemoryMetadataStore();
    await joinCluster(store, request("a"));
    await assert.rejects(
      joinCluster(store, request("a", { clusterName: "other" })),
      (e) => e instanceof BadRequestError && e.code === "cluster_mismatch" && !e.retryable,
    );
  });

  it("a join whose answer was lost converges on the same id with a newer generation", async () => {
    const inner = new InMemoryMetadataStore();
    const lossy = new LossyMetadataStore(inner);
    lossy.dropAnswers = 3;
    assert.deepEqual(await joinCluster(lossy, request("a"), { backoffMs: 1 }), nid(1, 4));
    const config = await nodesConfig(inner);
    assert.equal(config.nodes.length, 1, "no second entry for the same name");
    assert.ok(isFenced(config, nid(1, 3)), "the skipped generations are fenced");
  });

  it("gives up on an unreachable store with a retryable error after its attempts", async () => {
    const lossy = new LossyMetadataStore(new InMemoryMetadataStore());
    lossy.dropAnswers = Infinity;
    lossy.partitionAfterApplied = true;
    await assert.rejects(
      joinCluster(lossy, request("a"), { maxAttempts: 3, backoffMs: 1 }),
      (e) => e instanceof UnavailableError && e.code === "join_unsettled" && e.retryable,
    );
  });

  it("fences an older generation with node_fenced", async () => {
    const store = new InMemoryMetadataStore();
    const first = await joinCluster(store, request("a"));
    const second = await joinCluster(store, request("a"));
    const config = await nodesConfig(store);
    assert.equal(isFenced(config, first), true);
    assert.equal(isFenced(config, second), false);
    assert.equal(isFenced(config, nid(7, 1)), false, "an unknown node is not fenced");
    assert.throws(() => checkNotFenced(config, first), (e) => e instanceof FencedNodeError && e.code === "node_fenced" && !e.retryable);
    checkNotFenced(config, second);
  });
});
