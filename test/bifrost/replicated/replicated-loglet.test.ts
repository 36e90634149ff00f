import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { BifrostImpl } from "../../../src/bifrost/bifrost-impl.ts";
import { isTrimGap } from "../../../src/bifrost/bifrost.ts";
import { LogletOffset, SealedError, type LogletEntry } from "../../../src/bifrost/loglet.ts";
import { newReplicatedParams, replicatedLogletId } from "../../../src/net/loglet-params.ts";
import { ReplicatedLogletProvider } from "../../../src/bifrost/replicated/provider.ts";
import { RecordUnavailableError } from "../../../src/bifrost/replicated/records.ts";
import { NotSequencerError, type ReplicatedLoglet } from "../../../src/bifrost/replicated/replicated-loglet.ts";
import { SequencerNotFreshError } from "../../../src/bifrost/replicated/sequencer.ts";
import { rootLogger } from "../../../src/common/logger.ts";
import { NodeDirectory } from "../../../src/net/node-directory.ts";
import { toWireNodeId } from "../../../src/net/node-id.ts";
import { FencedNodeError, NotWritableError } from "../../../src/net/log-server-errors.ts";
import { LogServer } from "../../../src/log-server/log-server.ts";
import { Sequencer as SequencerService } from "../../../src/net/gen/log_server_pb.ts";
import { RpcServer } from "../../../src/net/server.ts";
import { decodeDocument, METADATA_KEYS, type NodesConfiguration, type SegmentConfig, type StorageState } from "../../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../../src/metadata/memory-store.ts";
import { CorruptionError } from "../../../src/types/errors.ts";
import { LogId, Lsn, type GenerationalNodeId } from "../../../src/types/ids.ts";
import { tempDir } from "../../support/temp.ts";
import { CLUSTER, dec, enc, eventually, header, logServerClient, node, writeNodes, writeReplicatedLog } from "../../log-server/helpers.ts";

const WRITER = node(10);
const READER = node(11);
const SERVERS = [1, 2, 3];

function payloads(entries: readonly LogletEntry[]): string[] {
  return entries.map((e) => {
    assert.ok(!("trimGapTo" in e), `unexpected trim gap at ${e.offset}`);
    return dec(e.payload);
  });
}

async function readAll(loglet: ReplicatedLoglet, from = 1): Promise<LogletEntry[]> {
  const out: LogletEntry[] = [];
  for (let next = from; ; ) {
    const batch = await loglet.read(LogletOffset(next), 500);
    if (batch.length === 0) return out;
    out.push(...batch);
    const last = batch[batch.length - 1];
    next = ("trimGapTo" in last ? last.trimGapTo : last.offset) + 1;
  }
}

describe("replicated loglet over three in-process log servers", () => {
  const tmp = tempDir("reprise-replicated-");
  const metadata = new InMemoryMetadataStore();
  const servers = new Map<number, LogServer>();
  const directories: NodeDirectory[] = [];
  const providers: ReplicatedLogletProvider[] = [];

  async function startServer(id: number, generation: number): Promise<void> {
    const server = await LogServer.start({ me: node(id, generation), clusterName: CLUSTER, dataDir: join(tmp.path, `n${id}`), metadata, port: 0 });
    assert.equal(await server.ready(), "read-write");
    servers.set(id, server);
    // Advertise the (new) address, as a restarted node does when it joins again.
    const stored = await metadata.get(METADATA_KEYS.nodesConfiguration);
    const config = decodeDocument<NodesConfiguration>(stored!.value);
    await writeNodes(
      metadata,
      config.nodes.map((n) => ({
        id: n.id,
        generation: n.id === id ? generation : n.generation,
        address: n.id === id ? `127.0.0.1:${server.port}` : n.address,
        storageState: n.logServer?.storageState,
      })),
    );
  }

  async function provider(me: GenerationalNodeId, options: { tailCacheBytes?: number; rpcMs?: number; hedgeMs?: number } = {}): Promise<ReplicatedLogletProvider> {
    const dir = await NodeDirectory.open(metadata, rootLogger);
    directories.push(dir);
    const { rpcMs = 1_000, hedgeMs, ...rest } = options;
    const p = new ReplicatedLogletProvider({ me, connections: dir.connections, timeouts: { rpcMs, ...(hedgeMs === undefined ? {} : { hedgeMs }) }, sealDrainMs: 500, ...rest });
    providers.push(p);
    return p;
  }

  /** Offsets of `loglet` in [from, to] that server `id` holds (GetDigest). */
  async function heldOffsets(id: number, loglet: string, from: number, to: number): Promise<number[]> {
    const raw = logServerClient(servers.get(id)!.port);
    try {
      return (await raw.client.getDigest({ header: header(node(99), loglet), fromOffset: from, toOffset: to })).offsets;
    } finally {
      raw.close();
    }
  }

  /** Stores records on one server as WRITER would (a sequencer that died before finishing its batches). */
  async function storeAsWriter(server: number, loglet: string, first: number, texts: string[], globalTail: number): Promise<void> {
    const raw = logServerClient(servers.get(server)!.port);
    try {
      await raw.client.store({ header: header(WRITER, loglet, globalTail), sequencer: toWireNodeId(WRITER), firstOffset: first, payloads: texts.map(enc) });
    } finally {
      raw.close();
    }
  }

  /**
   * Runs `body` while N3's address leads to a server that accepts every call and answers none (a
   * frozen process, a link that drops every packet), then points N3 back at its log server.
   */
  async function whileN3NeverAnswers(body: () => Promise<void>): Promise<void> {
    const silent = createHttp2Server();
    silent.on("stream", () => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const stored = decodeDocument<NodesConfiguration>((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value);
    const nodesWith = (address3: string) =>
      writeNodes(
        metadata,
        stored.nodes.map((n) => ({ id: n.id, generation: n.generation, address: n.id === 3 ? address3 : n.address, storageState: n.logServer?.storageState })),
      );
    await nodesWith(`127.0.0.1:${(silent.address() as AddressInfo).port}`);
    try {
      await body();
    } finally {
      await nodesWith(stored.nodes.find((n) => n.id === 3)!.address);
      silent.close();
    }
  }

  const segmentFor = async (logId: number, sequencer = WRITER): Promise<SegmentConfig> => {
    const config = decodeDocument<NodesConfiguration>((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value);
    const params = newReplicatedParams(config, sequencer, 2);
    await writeReplicatedLog(metadata, logId, params);
    return { index: 0, baseLsn: Lsn(1), provider: "replicated", params: { ...params } };
  };

  before(async () => {
    await writeNodes(metadata, SERVERS.map((id) => ({ id })));
    for (const id of SERVERS) await startServer(id, 1);
  });
  after(async () => {
    for (const p of providers) await p.close();
    for (const d of directories) d.close();
    for (const s of servers.values()) await s.close();
    tmp.remove();
  });

  it("appends on a write quorum, reads from any replica, seals and trims", async () => {
    const segment = await segmentFor(1);
    const writer = await (await provider(WRITER)).getLoglet(LogId(1), segment);
    const reader = await (await provider(READER)).getLoglet(LogId(1), segment);
    await assert.rejects(reader.append([enc("nope")]), NotSequencerError);

    // Ten rounds of five concurrent appends: each round is one batch (one Store per server).
    const acked: number[] = [];
    for (let round = 0; round < 10; round++) {
      const calls = Array.from({ length: 5 }, (_, j) => {
        const i = round * 5 + j;
        return writer.append([enc(`r${2 * i}`), enc(`r${2 * i + 1}`)]);
      });
      acked.push(...(await Promise.all(calls)));
    }
    assert.deepEqual(acked, Array.from({ length: 50 }, (_, i) => 2 * i + 2), "offsets follow call order");
    assert.deepEqual(await writer.findTail(), { nextOffset: 101, sealed: false });

    // Each record sits on exactly two servers, spread over all three.
    let copies = 0;
    for (const id of SERVERS) {
      const held = await heldOffsets(id, writer.id, 1, 100);
      assert.ok(held.length > 0 && held.length < 100, "every server holds some but not all records");
      copies += held.length;
    }
    assert.equal(copies, 200);

    // The reader learns the tail from the servers (Release) and fills each server's gaps from the others.
    await reader.waitForTail(LogletOffset(100));
    assert.deepEqual(payloads(await readAll(reader)), Array.from({ length: 100 }, (_, i) => `r${i}`));

    await reader.trim(LogletOffset(40));
    assert.equal(await writer.getTrimPoint(), 40);
    const afterTrim = await writer.read(LogletOffset(1), 10);
    assert.deepEqual(afterTrim, [{ offset: 1, trimGapTo: 40 }]);
    assert.equal(payloads(await readAll(reader, 41))[0], "r40");

    // A seal from another node: the writer learns it from its next store and refuses further appends.
    const sealed = await reader.seal();
    assert.deepEqual(sealed, { nextOffset: 101, sealed: true });
    await assert.rejects(writer.append([enc("late")]), SealedError);
    assert.deepEqual(await writer.findTail(), { nextOffset: 101, sealed: true });
  });

  it("keeps appending while one log server is down and the reader fills in from the others", async () => {
    const segment = await segmentFor(2);
    const writer = await (await provider(WRITER)).getLoglet(LogId(2), segment);
    for (let i = 0; i < 20; i++) await writer.append([enc(`a${i}`)]);
    await servers.get(2)!.close();
    servers.delete(2);
    for (let i = 20; i < 60; i++) await writer.append([enc(`a${i}`)]);
    const reader = await (await provider(READER)).getLoglet(LogId(2), segment);
    await reader.waitForTail(LogletOffset(60));
    assert.deepEqual(payloads(await readAll(reader)), Array.from({ length: 60 }, (_, i) => `a${i}`));

    // Back with a new generation: it takes writes again.
    await startServer(2, 2);
    assert.ok((await heldOffsets(2, writer.id, 1, 60)).length < 60, "it missed records while down");
    // Writers avoid a server for a while after it failed; it is picked again once that passes.
    let n = 60;
    await eventually(async () => {
      for (let i = 0; i < 10; i++, n++) await writer.append([enc(`a${n}`)]);
      return (await heldOffsets(2, writer.id, 61, n)).length > 0;
    }, 10_000, "the restarted server receives new records");
    // The reader cannot reach the writer's process: it learns the tail from the servers' release.
    await reader.waitForTail(LogletOffset(n));
    assert.deepEqual(payloads(await readAll(reader)), Array.from({ length: n }, (_, i) => `a${i}`));
  });

  it("repairs under-replicated records before declaring the sealed tail", async () => {
    // A sequencer (raw client) committed 1..5 on N1+N2, then died with 6..7 on N1 only and 9 on N2 only.
    const segment = await segmentFor(4);
    const id = replicatedLogletId(LogId(4), 0);
    const store = (server: number, first: number, texts: string[], globalTail: number) => storeAsWriter(server, id, first, texts, globalTail);
    const committed = ["s1", "s2", "s3", "s4", "s5"];
    await store(1, 1, committed, 0);
    await store(2, 1, committed, 0);
    await store(1, 6, ["s6", "s7"], 6);
    await store(2, 9, ["s9"], 6);

    const reader = await (await provider(READER)).getLoglet(LogId(4), segment);
    // 8 is on no server: it and everything after it was never acknowledged.
    assert.deepEqual(await reader.seal(), { nextOffset: 8, sealed: true });
    for (const o of [6, 7]) {
      const holders = [];
      for (const s of SERVERS) if ((await heldOffsets(s, id, o, o)).length > 0) holders.push(s);
      assert.equal(holders.length, 2, `offset ${o} has two copies after the repair`);
    }
    // The sealer's tail is a proposal until the log's chain records it: before that only the
    // committed records are readable (another sealer might have decided on 6 as the tail).
    assert.deepEqual(payloads(await readAll(reader)), ["s1", "s2", "s3", "s4", "s5"]);
    reader.settleTail!(LogletOffset(8));
    assert.deepEqual(payloads(await readAll(reader)), ["s1", "s2", "s3", "s4", "s5", "s6", "s7"]);
  });

  it("reads around a replica whose copy is corrupt on disk", async () => {
    const segment = await segmentFor(5);
    const writer = await (await provider(WRITER)).getLoglet(LogId(5), segment);
    for (let i = 0; i < 6; i++) await writer.append([enc(`CORRUPTIBLE-${i}`)]);
    // The server a reader of offset 1 asks first (spread order starts at nodeset[1]).
    const victim = writer.params.nodeset[1];
    const held = await heldOffsets(victim, writer.id, 1, 6);
    assert.ok(held.length > 0);
    await servers.get(victim)!.close();
    const file = join(tmp.path, `n${victim}`, "records.sqlite");
    const bytes = readFileSync(file);
    for (const o of held) bytes[bytes.indexOf(Buffer.from(`CORRUPTIBLE-${o - 1}`)) + 2] ^= 0x01;
    writeFileSync(file, bytes);
    await startServer(victim, 10);
    const raw = logServerClient(servers.get(victim)!.port);
    await assert.rejects(raw.client.getRecords({ header: header(READER, writer.id), fromOffset: 1, toOffset: 6 }), CorruptionError);
    raw.close();

    const reader = await (await provider(READER)).getLoglet(LogId(5), segment);
    await reader.waitForTail(LogletOffset(6));
    assert.deepEqual(payloads(await readAll(reader)), Array.from({ length: 6 }, (_, i) => `CORRUPTIBLE-${i}`));
  });

  it("refuses appends from a superseded writer and from a second instance of the same writer", async () => {
    const writer = node(12);
    const segment = await segmentFor(6, writer);
    const first = await (await provider(writer)).getLoglet(LogId(6), segment);
    await first.append([enc("one")]);
    // Another process with the same identity cannot know which offsets were acknowledged.
    const twin = await (await provider(writer)).getLoglet(LogId(6), segment);
    await assert.rejects(twin.append([enc("two")]), SequencerNotFreshError);

    // The writer's node restarted as generation 2 and talked to the log servers: generation 1 is fenced.
    for (const id of SERVERS) {
      const raw = logServerClient(servers.get(id)!.port);
      await raw.client.getLogletInfo({ header: header(node(writer.id, 2), first.id) });
      raw.close();
    }
    await assert.rejects(first.append([enc("three")]), FencedNodeError);
    await assert.rejects(first.append([enc("four")]), FencedNodeError);
    // A fresh loglet of the fenced generation fails at its first append instead of waiting.
    const late = await (await provider(writer)).getLoglet(LogId(7), await segmentFor(7, writer));
    await assert.rejects(late.append([enc("five")]), FencedNodeError);
  });

  it("stops with a typed error instead of waiting when too few servers take writes", async () => {
    const writer = node(13);
    const loglet = await (await provider(writer)).getLoglet(LogId(8), await segmentFor(8, writer));
    await loglet.append([enc("ok")]);
    const setState = async (ids: number[], storageState: StorageState): Promise<void> => {
      const config = decodeDocument<NodesConfiguration>((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value);
      await writeNodes(
        metadata,
        config.nodes.map((n) => ({ ...n, storageState: ids.includes(n.id) ? storageState : n.logServer?.storageState })),
      );
    };
    await setState([2, 3], "read-only");
    try {
      await assert.rejects(loglet.append([enc("refused")]), (e) => e instanceof NotWritableError && !e.retryable);
      await assert.rejects(loglet.append([enc("again")]), NotWritableError);
    } finally {
      await setState([2, 3], "read-write");
    }
  });

  it("reconfigures through Bifrost: seal, new segment from the sealed tail, appends continue", async () => {
    const segment = await segmentFor(3);
    const writerProvider = await provider(WRITER);
    const bifrost = new BifrostImpl(metadata, [writerProvider]);
    try {
      for (let i = 0; i < 10; i++) assert.equal(await bifrost.append(LogId(3), [enc(`b${i}`)]), i + 1);
      const config = decodeDocument<NodesConfiguration>((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value);
      const next = await bifrost.sealAndExtend(LogId(3), { provider: "replicated", params: { ...newReplicatedParams(config, WRITER, 2) } });
      assert.equal(next.baseLsn, 11);
      assert.equal(await bifrost.append(LogId(3), [enc("b10")]), 11);
      const all = await bifrost.read(LogId(3), Lsn(1), 100);
      assert.deepEqual(
        all.map((e) => (isTrimGap(e) ? "gap" : dec(e.payload))),
        Array.from({ length: 11 }, (_, i) => `b${i}`),
      );
      assert.ok(segment.index === 0);
    } finally {
      await bifrost.close();
    }
  });

  it("serves the sequencer's reads of what it just committed from memory, older records from the log servers", async () => {
    const writer = node(14);
    // Room for the last four 3-byte records.
    const loglet = await (await provider(writer, { tailCacheBytes: 12 })).getLoglet(LogId(9), await segmentFor(9, writer));
    const texts = Array.from({ length: 10 }, (_, i) => `r0${i}`);
    for (const t of texts) await loglet.append([enc(t)]);
    const generations = decodeDocument<NodesConfiguration>((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value).nodes;
    for (const id of SERVERS) await servers.get(id)!.close();
    try {
      assert.deepEqual(payloads(await loglet.read(LogletOffset(7), 10)), texts.slice(6));
      await assert.rejects(loglet.read(LogletOffset(6), 10), RecordUnavailableError);
    } finally {
      for (const id of SERVERS) await startServer(id, generations.find((n) => n.id === id)!.generation + 1);
    }
    assert.deepEqual(payloads(await readAll(loglet)), texts);
  });

  it("hands a reader right behind the tail the committed records from the sequencer's process, with every log server gone", async () => {
    const writerNode = node(15);
    const writerProvider = await provider(writerNode);
    const rpc = new RpcServer({ port: 0 }).register(SequencerService, writerProvider.sequencerService());
    const port = await rpc.listen();
    const stored = decodeDocument<NodesConfiguration>((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value).nodes;
    // The writer's node is not a log server in read-write: segments leave it out of their nodesets.
    await writeNodes(metadata, [
      ...stored.map((n) => ({ id: n.id, generation: n.generation, address: n.address, storageState: n.logServer?.storageState })),
      { id: 15, address: `127.0.0.1:${port}` },
    ]);
    const segment = await segmentFor(12, writerNode);
    const writer = await writerProvider.getLoglet(LogId(12), segment);
    const reader = await (await provider(READER)).getLoglet(LogId(12), segment);
    const texts = Array.from({ length: 10 }, (_, i) => `w${i}`);
    for (const t of texts) await writer.append([enc(t)]);
    for (const id of SERVERS) await servers.get(id)!.close();
    try {
      // No log server answers: only the sequencer can tell the tail and hand over the records.
      assert.deepEqual(await reader.waitForTail(LogletOffset(1), AbortSignal.timeout(5_000)), { nextOffset: 11, sealed: false });
      assert.deepEqual(payloads(await reader.read(LogletOffset(1), 100)), texts);
    } finally {
      for (const id of SERVERS) await startServer(id, stored.find((n) => n.id === id)!.generation + 1);
      await rpc.close();
    }
  });

  it("seals and repairs without waiting out a log server that takes calls and never answers them", async () => {
    // 1..3 committed on N1+N2, 4 stored on N1 only; then N3 stops answering.
    const segment = await segmentFor(11);
    const id = replicatedLogletId(LogId(11), 0);
    await storeAsWriter(1, id, 1, ["u1", "u2", "u3"], 0);
    await storeAsWriter(2, id, 1, ["u1", "u2", "u3"], 0);
    await storeAsWriter(1, id, 4, ["u4"], 3);
    await whileN3NeverAnswers(async () => {
      // Calls time out only after 30 s: waiting one out would show.
      const reader = await (await provider(READER, { rpcMs: 30_000 })).getLoglet(LogId(11), segment);
      const sealed = await Promise.race([reader.seal(), sleep(10_000).then(() => "still sealing after 10 s")]);
      assert.deepEqual(sealed, { nextOffset: 5, sealed: true });
      assert.deepEqual(await heldOffsets(2, id, 4, 4), [4], "the record N1 alone held was repaired onto N2");
    });
  });

  it("commits appends without waiting out a log server that takes calls and never answers them", async () => {
    const segment = await segmentFor(40);
    await whileN3NeverAnswers(async () => {
      // Calls time out only after 30 s: the first append's check that the loglet is empty, or a
      // batch sent to N3 first, would wait that long for N3.
      const writer = await (await provider(WRITER, { rpcMs: 30_000, hedgeMs: 200 })).getLoglet(LogId(40), segment);
      const started = Date.now();
      const acked: number[] = [];
      for (let i = 0; i < 6; i++) acked.push(await Promise.race([writer.append([enc(`h${i}`)]), sleep(10_000).then(() => -1)]));
      assert.deepEqual(acked, [1, 2, 3, 4, 5, 6], `appends committed in ${Date.now() - started} ms`);
      // Every record is on the two servers that answer, the batches meant for N3 included.
      assert.deepEqual(await heldOffsets(1, writer.id, 1, 6), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(await heldOffsets(2, writer.id, 1, 6), [1, 2, 3, 4, 5, 6]);
    });
  });

  it("seals a loglet whose nodeset is no larger than its replication while one of its servers is down", async () => {
    // Placed while N2 was held dead: N1 and N3, two copies of each record. The sequencer committed
    // 1..4 on both and died with 5..6 stored on N1 only; then N3 dies too.
    const params = { sequencer: WRITER, nodeset: [1, 3].map((n) => node(n).id), replication: 2 };
    const id = await writeReplicatedLog(metadata, 10, params);
    const segment: SegmentConfig = { index: 0, baseLsn: Lsn(1), provider: "replicated", params: { ...params } };
    const committed = ["t1", "t2", "t3", "t4"];
    await storeAsWriter(1, id, 1, committed, 0);
    await storeAsWriter(3, id, 1, committed, 0);
    await storeAsWriter(1, id, 5, ["t5", "t6"], 4);
    const generation = decodeDocument<NodesConfiguration>((await metadata.get(METADATA_KEYS.nodesConfiguration))!.value).nodes.find((n) => n.id === 3)!.generation;
    await servers.get(3)!.close();
    try {
      const reader = await (await provider(READER)).getLoglet(LogId(10), segment);
      // No repair can give 5..6 a second copy while N3 is away; the seal must not wait for it.
      const sealed = await Promise.race([reader.seal(), sleep(15_000).then(() => "still sealing after 15 s")]);
      assert.deepEqual(sealed, { nextOffset: 7, sealed: true });
      reader.settleTail!(LogletOffset(7));
      assert.deepEqual(payloads(await readAll(reader)), [...committed, "t5", "t6"]);
    } finally {
      await startServer(3, generation + 1);
    }
  });
});
