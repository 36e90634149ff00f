import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SealedError } from "../../src/bifrost/loglet.ts";
import { toWireNodeId } from "../../src/net/node-id.ts";
import {
  DataDirOwnershipError,
  FencedNodeError,
  NotWritableError,
  StaleSequencerError,
  UnknownLogletError,
} from "../../src/net/log-server-errors.ts";
import { LogServer } from "../../src/log-server/log-server.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { CorruptionError } from "../../src/types/errors.ts";
import { PlainNodeId } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { CLUSTER, dec, enc, header, logServerClient, node, writeNodes, writeReplicatedLog, type LogServerClient } from "./helpers.ts";

const ME = node(1);
const SEQ = node(9, 3);
const params = { sequencer: SEQ, nodeset: [PlainNodeId(1), PlainNodeId(2), PlainNodeId(3)], replication: 2 };

describe("log server", () => {
  const tmp = tempDir("reprise-logserver-");
  const metadata = new InMemoryMetadataStore();
  let server: LogServer;
  let client: LogServerClient;
  let closeClient: () => void;
  let loglet: string;

  before(async () => {
    await writeNodes(metadata, [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 9, generation: 3 }]);
    loglet = await writeReplicatedLog(metadata, 1, params);
    server = await LogServer.start({ me: ME, clusterName: CLUSTER, dataDir: join(tmp.path, "n1"), metadata, port: 0 });
    assert.equal(await server.ready(), "read-write");
    ({ client, close: closeClient } = logServerClient(server.port));
  });
  after(async () => {
    closeClient();
    await server.close();
    tmp.remove();
  });

  const store = (first: number, payloads: string[], as = SEQ, opts: { repair?: boolean; sequencer?: typeof SEQ; loglet?: string } = {}) =>
    client.store({
      header: header(as, opts.loglet ?? loglet),
      sequencer: toWireNodeId(opts.sequencer ?? as),
      firstOffset: first,
      payloads: payloads.map(enc),
      repair: opts.repair ?? false,
    });

  it("stores, reports gaps, releases the global tail and serves reads", async () => {
    const r1 = await store(1, ["a", "b", "c"]);
    assert.equal(r1.state?.localTail, 4);
    // A batch the sequencer sent elsewhere leaves a gap here; later offsets are still accepted.
    const r2 = await store(6, ["f"]);
    assert.equal(r2.state?.localTail, 7);
    const read = await client.getRecords({ header: header(SEQ, loglet), fromOffset: 1, toOffset: 10 });
    assert.deepEqual(read.records.map((r) => [r.offset, dec(r.payload)]), [[1, "a"], [2, "b"], [3, "c"], [6, "f"]]);
    assert.equal(read.nextOffset, 11);
    const digest = await client.getDigest({ header: header(SEQ, loglet), fromOffset: 2, toOffset: 8 });
    assert.deepEqual(digest.offsets, [2, 3, 6]);

    // A reader long-polls the global tail; the sequencer's Release moves it.
    const waiting = client.waitForTail({ header: header(node(2), loglet), globalTailAtLeast: 4, maxWaitMs: 3_000 });
    await client.release({ header: header(SEQ, loglet, 4) });
    assert.equal((await waiting).state?.knownGlobalTail, 4);
    const info = await client.getLogletInfo({ header: header(node(2), loglet) });
    assert.deepEqual([info.state?.localTail, info.state?.knownGlobalTail, info.state?.sealed, info.state?.trimPoint], [7, 4, false, 0]);

    // A duplicate store (a retried batch) is idempotent and keeps the first copy.
    await store(1, ["a", "b", "c"]);
    const again = await client.getRecords({ header: header(SEQ, loglet), fromOffset: 1, toOffset: 3 });
    assert.deepEqual(again.records.map((r) => dec(r.payload)), ["a", "b", "c"]);
  });

  it("trims up to a point, never past what it holds", async () => {
    const t = await client.trim({ header: header(SEQ, loglet), trimPoint: 2 });
    assert.equal(t.state?.trimPoint, 2);
    const read = await client.getRecords({ header: header(SEQ, loglet), fromOffset: 1, toOffset: 10 });
    assert.deepEqual(read.records.map((r) => r.offset), [3, 6]);
    const beyond = await client.trim({ header: header(SEQ, loglet), trimPoint: 1_000 });
    assert.equal(beyond.state?.trimPoint, 6, "clamped below the local tail");
    // A store below the trim point does not resurrect trimmed records.
    await store(1, ["a", "b", "c"]);
    assert.deepEqual((await client.getRecords({ header: header(SEQ, loglet), fromOffset: 1, toOffset: 10 })).records, []);
  });

  it("refuses a store from a node that is not the loglet's sequencer", async () => {
    const other = node(2);
    await assert.rejects(store(7, ["x"], other), StaleSequencerError);
    // A sender claiming to store for the real sequencer is refused too.
    await assert.rejects(store(7, ["x"], other, { sequencer: SEQ }), StaleSequencerError);
  });

  it("fences a node whose generation was superseded", async () => {
    await assert.rejects(store(7, ["x"], node(9, 2), { sequencer: node(9, 2) }), FencedNodeError);
    // A newer generation seen in a request fences the older one from then on, for every request.
    await client.getLogletInfo({ header: header(node(2, 5), loglet) });
    await assert.rejects(client.getLogletInfo({ header: header(node(2, 4), loglet) }), FencedNodeError);
  });

  it("refuses an unknown loglet id and a loglet whose nodeset excludes it", async () => {
    await assert.rejects(store(1, ["x"], SEQ, { loglet: "77-0" }), UnknownLogletError);
    await assert.rejects(client.getRecords({ header: header(SEQ, "77-0"), fromOffset: 1, toOffset: 2 }), UnknownLogletError);
    const elsewhere = await writeReplicatedLog(metadata, 2, { ...params, nodeset: [PlainNodeId(2), PlainNodeId(3)] });
    await assert.rejects(store(1, ["x"], SEQ, { loglet: elsewhere }), UnknownLogletError);
  });

  it("seals durably: stores are refused after, repair stores are not", async () => {
    const s = await client.seal({ header: header(node(2, 5), loglet) });
    assert.equal(s.state?.sealed, true);
    await assert.rejects(store(7, ["late"]), SealedError);
    // Sealing again is a no-op that reports the same state.
    assert.equal((await client.seal({ header: header(node(3), loglet) })).state?.localTail, 7);
    const repaired = await store(7, ["r"], node(3), { repair: true });
    assert.equal(repaired.state?.localTail, 8);
    const w = await client.waitForTail({ header: header(node(3), loglet), globalTailAtLeast: 100, maxWaitMs: 2_000 });
    assert.equal(w.state?.sealed, true, "a sealed loglet answers tail waits at once");
  });

  it("keeps the seal, records and global tail across a restart", async () => {
    await server.close();
    closeClient();
    server = await LogServer.start({ me: node(1, 2), clusterName: CLUSTER, dataDir: join(tmp.path, "n1"), metadata, port: 0 });
    assert.equal(await server.ready(), "read-write");
    ({ client, close: closeClient } = logServerClient(server.port));
    const info = await client.getLogletInfo({ header: header(node(3), loglet) });
    assert.deepEqual([info.state?.localTail, info.state?.knownGlobalTail, info.state?.sealed, info.state?.trimPoint], [8, 4, true, 6]);
    await assert.rejects(store(8, ["x"]), SealedError);
  });
});

describe("log server storage", () => {
  const tmp = tempDir("reprise-logserver-disk-");
  after(() => tmp.remove());

  it("detects a record corrupted on disk by its checksum", async () => {
    const metadata = new InMemoryMetadataStore();
    await writeNodes(metadata, [{ id: 1 }]);
    const loglet = await writeReplicatedLog(metadata, 1, { sequencer: SEQ, nodeset: [PlainNodeId(1)], replication: 1 });
    const dataDir = join(tmp.path, "corrupt");
    let server = await LogServer.start({ me: ME, clusterName: CLUSTER, dataDir, metadata, port: 0 });
    await server.ready();
    let c = logServerClient(server.port);
    const marker = "CORRUPT-ME-7f3a9c";
    await c.client.store({ header: header(SEQ, loglet), sequencer: toWireNodeId(SEQ), firstOffset: 1, payloads: [enc("fine"), enc(marker)] });
    c.close();
    await server.close();

    // Flip one byte of the payload inside the database file (closing checkpointed the WAL into it).
    const file = join(dataDir, "records.sqlite");
    const bytes = readFileSync(file);
    const at = bytes.indexOf(Buffer.from(marker));
    assert.ok(at > 0, "payload found in the database file");
    bytes[at + 3] ^= 0x20;
    writeFileSync(file, bytes);

    server = await LogServer.start({ me: node(1, 2), clusterName: CLUSTER, dataDir, metadata, port: 0 });
    c = logServerClient(server.port);
    try {
      const first = await c.client.getRecords({ header: header(SEQ, loglet), fromOffset: 1, toOffset: 1 });
      assert.equal(dec(first.records[0].payload), "fine");
      await assert.rejects(c.client.getRecords({ header: header(SEQ, loglet), fromOffset: 1, toOffset: 2 }), (e) => {
        assert.ok(e instanceof CorruptionError);
        assert.match(e.message, /1-0@2 fails its checksum/);
        return true;
      });
    } finally {
      c.close();
      await server.close();
    }
  });

  it("refuses a data directory of another node, and an older generation of its own", async () => {
    const metadata = new InMemoryMetadataStore();
    await writeNodes(metadata, [{ id: 1, generation: 4 }, { id: 2 }]);
    const dataDir = join(tmp.path, "owned");
    const server = await LogServer.start({ me: node(1, 4), clusterName: CLUSTER, dataDir, metadata, port: 0 });
    await server.close();
    await assert.rejects(LogServer.start({ me: node(2), clusterName: CLUSTER, dataDir, metadata, port: 0 }), DataDirOwnershipError);
    await assert.rejects(LogServer.start({ me: node(1, 3), clusterName: CLUSTER, dataDir, metadata, port: 0 }), FencedNodeError);
    await assert.rejects(LogServer.start({ me: node(1, 5), clusterName: "other", dataDir, metadata, port: 0 }), DataDirOwnershipError);
  });

  it("refuses stores until provisioned, and once a newer generation of itself appears", async () => {
    const metadata = new InMemoryMetadataStore();
    const loglet = await writeReplicatedLog(metadata, 1, { sequencer: SEQ, nodeset: [PlainNodeId(1)], replication: 1 });
    // Not registered yet: the server is up but keeps provisioning.
    const server = await LogServer.start({ me: ME, clusterName: CLUSTER, dataDir: join(tmp.path, "prov"), metadata, port: 0, provisioningBackoffMs: 20 });
    const c = logServerClient(server.port);
    try {
      const attempt = () => c.client.store({ header: header(SEQ, loglet), sequencer: toWireNodeId(SEQ), firstOffset: 1, payloads: [enc("x")] });
      await assert.rejects(attempt(), (e) => e instanceof NotWritableError && e.retryable);
      await writeNodes(metadata, [{ id: 1 }]);
      assert.equal(await server.ready(), "read-write");
      await attempt();
      await writeNodes(metadata, [{ id: 1, generation: 2, storageState: "read-write" }]);
      assert.ok(server.fenced);
      await assert.rejects(attempt(), FencedNodeError);
    } finally {
      c.close();
      await server.close();
    }
  });
});
