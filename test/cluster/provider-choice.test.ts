import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BifrostImpl, LogProviderUnavailableError } from "../../src/bifrost/bifrost-impl.ts";
import type { LogletProvider } from "../../src/bifrost/loglet-provider.ts";
import { decodeDocument, encodeDocument, METADATA_KEYS, type Logs, type ProviderKind } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { LogId } from "../../src/types/ids.ts";

/** Creating a log only writes its chain; no loglet is opened, so a provider that is only named suffices. */
const namedProvider = (kind: ProviderKind): LogletProvider => ({
  kind,
  sealsOnlyHere: false,
  getLoglet: () => Promise.reject(new Error("not opened in these tests")),
  close: async () => undefined,
});

async function withLogsDocument(store: InMemoryMetadataStore, doc: Logs): Promise<void> {
  await store.put(METADATA_KEYS.logs, encodeDocument(doc), { kind: "does-not-exist" });
}

describe("Bifrost provider choice for new logs", () => {
  it("starts a log with the Logs document's default provider and the node's params for it", async () => {
    const store = new InMemoryMetadataStore();
    await withLogsDocument(store, { defaultProvider: "replicated", logs: [] });
    const asked: Array<[ProviderKind, number]> = [];
    const bifrost = new BifrostImpl(store, [namedProvider("replicated")], {
      newSegmentParams: async (provider, logId) => {
        asked.push([provider, logId]);
        return { sequencer: { id: 1, generation: 1 }, nodeset: [1, 2, 3], replication: 2 };
      },
    });
    try {
      const chain = await bifrost.getChain(LogId(7));
      assert.deepEqual(chain.segments, [
        { index: 0, baseLsn: 1, provider: "replicated", params: { sequencer: { id: 1, generation: 1 }, nodeset: [1, 2, 3], replication: 2 } },
      ]);
      assert.deepEqual(asked, [["replicated", 7]]);
      const stored = decodeDocument<Logs>((await store.get(METADATA_KEYS.logs))!.value);
      assert.equal(stored.defaultProvider, "replicated");
      assert.deepEqual(stored.logs, [chain]);
    } finally {
      await bifrost.close();
    }
  });

  it("keeps single-node logs local when there is no Logs document yet", async () => {
    const store = new InMemoryMetadataStore();
    const bifrost = new BifrostImpl(store, [namedProvider("local")]);
    try {
      const chain = await bifrost.getChain(LogId(0));
      assert.deepEqual(chain.segments, [{ index: 0, baseLsn: 1, provider: "local", params: {} }]);
      assert.equal(decodeDocument<Logs>((await store.get(METADATA_KEYS.logs))!.value).defaultProvider, "local");
    } finally {
      await bifrost.close();
    }
  });

  it("refuses to create a log whose default provider this node lacks, or cannot parametrise", async () => {
    const store = new InMemoryMetadataStore();
    await withLogsDocument(store, { defaultProvider: "replicated", logs: [] });
    const local = new BifrostImpl(store, [namedProvider("local")]);
    const noParams = new BifrostImpl(store, [namedProvider("replicated")]);
    try {
      await assert.rejects(local.getChain(LogId(1)), LogProviderUnavailableError);
      await assert.rejects(noParams.getChain(LogId(1)), (e: unknown) => (e as { code?: string }).code === "segment_params_unavailable");
      assert.deepEqual(decodeDocument<Logs>((await store.get(METADATA_KEYS.logs))!.value).logs, []);
    } finally {
      await local.close();
      await noParams.close();
    }
  });
});
