import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BifrostImpl } from "../../../src/bifrost/bifrost-impl.ts";
import { isTrimGap, type LogEntry } from "../../../src/bifrost/bifrost.ts";
import { newReplicatedParams, replicatedLogletId } from "../../../src/net/loglet-params.ts";
import { ReplicatedLogletProvider } from "../../../src/bifrost/replicated/provider.ts";
import { rootLogger } from "../../../src/common/logger.ts";
import { NodeDirectory } from "../../../src/net/node-directory.ts";
import { decodeDocument, METADATA_KEYS, type NodesConfiguration } from "../../../src/metadata/documents.ts";
import { LogId, Lsn, type GenerationalNodeId } from "../../../src/types/ids.ts";
import { tempDir } from "../../support/temp.ts";
import { dec, enc, eventually, header, logServerClient, node, writeReplicatedLog } from "../../log-server/helpers.ts";
import { spawnLogServer, spawnTs, startMetadataService, type Child, type LogServerProcess } from "../../support/log-server-processes.ts";

const CLUSTER = "mp-cluster";
const APPEND_CHILD = fileURLToPath(new URL("./append-child.ts", import.meta.url));

/** Three log-server processes on loopback, metadata served from this process, replication 2. */
describe("replicated loglet with three log-server processes", { timeout: 60_000 }, () => {
  const tmp = tempDir("reprise-mp-");
  let meta: Awaited<ReturnType<typeof startMetadataService>>;
  const servers = new Map<number, LogServerProcess>();
  const children: Child[] = [];
  const closers: Array<() => Promise<void> | void> = [];

  const nodesConfig = async (): Promise<NodesConfiguration> =>
    decodeDocument<NodesConfiguration>((await meta.store.get(METADATA_KEYS.nodesConfiguration))!.value);

  async function startServer(id: number): Promise<LogServerProcess> {
    const server = await spawnLogServer(id, join(tmp.path, `n${id}`), meta.address, CLUSTER);
    servers.set(id, server);
    children.push(server);
    await eventually(async () => {
      const n = (await nodesConfig()).nodes.find((x) => x.id === id);
      return n?.generation === server.generation && n.logServer?.storageState === "read-write";
    }, 10_000, `N${id} read-write`);
    return server;
  }

  async function writer(me: GenerationalNodeId): Promise<BifrostImpl> {
    const directory = await NodeDirectory.open(meta.store, rootLogger);
    const bifrost = new BifrostImpl(meta.store, [new ReplicatedLogletProvider({ me, connections: directory.connections, timeouts: { rpcMs: 1_000 } })]);
    closers.push(() => bifrost.close(), () => directory.close());
    return bifrost;
  }

  async function createLog(logId: number, sequencer: GenerationalNodeId): Promise<string> {
    return writeReplicatedLog(meta.store, logId, newReplicatedParams(await nodesConfig(), sequencer, 2));
  }

  /** Every entry from LSN 1 to the tail, in as many reads as it takes. */
  async function readAll(bifrost: BifrostImpl, logId: number): Promise<LogEntry[]> {
    const tail = await bifrost.findTail(LogId(logId));
    const out: LogEntry[] = [];
    while (out.length < tail - 1) {
      const batch = await bifrost.read(LogId(logId), Lsn(out.length + 1), 1_000);
      assert.ok(batch.length > 0, `read made progress at ${out.length + 1}`);
      out.push(...batch);
    }
    return out;
  }

  function assertAcknowledgedReadable(entries: LogEntry[], acked: Map<number, number>, prefix: string): void {
    const byLsn = new Map(entries.map((e) => [e.lsn as number, isTrimGap(e) ? null : dec(e.payload)]));
    for (const [seq, lsn] of acked) assert.equal(byLsn.get(lsn), `${prefix}${seq}`, `acknowledged ${prefix}${seq} at LSN ${lsn}`);
    const payloads = entries.map((e) => (isTrimGap(e) ? "gap" : dec(e.payload)));
    assert.equal(new Set(payloads).size, payloads.length, "no record appears twice");
  }

  before(async () => {
    meta = await startMetadataService();
    // Sequentially: each join is a CAS on the same document, and the cores are few.
    for (const id of [1, 2, 3]) await startServer(id);
  });
  after(async () => {
    for (const close of closers.reverse()) await close();
    for (const c of children) await c.kill();
    await meta.close();
    tmp.remove();
  });

  it("keeps appending when a log server is killed, and the restarted server takes writes again", async (t) => {
    const logId = 1;
    const loglet = await createLog(logId, node(20));
    const bifrost = await writer(node(20));
    const acked = new Map<number, number>();
    const errors: unknown[] = [];
    let seq = 0;
    let stop = false;
    const appendLoop = async (): Promise<void> => {
      while (!stop) {
        const s = seq++;
        try {
          acked.set(s, await bifrost.append(LogId(logId), [enc(`k${s}`)]));
        } catch (e) {
          errors.push(e);
        }
      }
    };
    const loops = Array.from({ length: 8 }, appendLoop);
    await eventually(() => acked.size >= 200, 10_000, "200 acks");
    // Any one of them: the victim is random, the second failure later is another one.
    const victim = randomInt(1, 4);
    const second = (victim % 3) + 1;
    t.diagnostic(`killing N${victim}, later N${second}`);
    await servers.get(victim)!.kill("SIGKILL");
    const atKill = acked.size;
    await eventually(() => acked.size >= atKill + 300, 10_000, "300 acks after the kill");
    stop = true;
    await Promise.all(loops);
    assert.deepEqual(errors, []);
    assertAcknowledgedReadable(await readAll(bifrost, logId), acked, "k");

    // The killed server comes back (same data, new generation) and catches up with the global tail.
    const back = await startServer(victim);
    const raw = logServerClient(back.port);
    closers.push(raw.close);
    const info = async () => (await raw.client.getLogletInfo({ header: header(node(99), loglet) })).state!;
    const before = await info();
    // Writers avoid a server for a while after it failed; keep appending until it is picked again.
    await eventually(async () => {
      for (let i = 0; i < 10; i++) acked.set(seq, await bifrost.append(LogId(logId), [enc(`k${seq++}`)]));
      return (await info()).localTail > before.localTail;
    }, 10_000, "restarted server stores new records");
    const tail = await bifrost.findTail(LogId(logId));
    await eventually(async () => (await info()).knownGlobalTail === tail, 5_000, "restarted server learns the global tail");

    // Losing another server now still leaves one copy of everything, including what the victim missed.
    await servers.get(second)!.kill("SIGKILL");
    assertAcknowledgedReadable(await readAll(bifrost, logId), acked, "k");

    // Reconfigure while that one is down: seal (quorum of the other two) and continue in a new segment.
    const next = await bifrost.sealAndExtend(LogId(logId), { provider: "replicated", params: { ...newReplicatedParams(await nodesConfig(), node(20), 2) } });
    assert.equal(next.baseLsn, tail);
    acked.set(seq, await bifrost.append(LogId(logId), [enc(`k${seq++}`)]));
    assertAcknowledgedReadable(await readAll(bifrost, logId), acked, "k");
    await startServer(second);
  });

  it("seals the segment of a killed sequencer and continues in a new one, losing nothing acknowledged", async () => {
    const logId = 2;
    await createLog(logId, node(10, 1));
    const child = spawnTs(APPEND_CHILD, [meta.address, "10", "1", String(logId), "4", "100000"]);
    children.push(child);
    await child.waitFor((e) => e.event === "ack" && (e.seq as number) >= 150, 20_000);
    await child.kill("SIGKILL");
    const acked = new Map(child.events.filter((e) => e.event === "ack").map((e) => [e.seq as number, e.lsn as number]));

    // The node comes back as generation 2: it seals its old segment and appends to a new one.
    const bifrost = await writer(node(10, 2));
    const next = await bifrost.sealAndExtend(LogId(logId), { provider: "replicated", params: { ...newReplicatedParams(await nodesConfig(), node(10, 2), 2) } });
    const chain = await bifrost.getChain(LogId(logId));
    assert.equal(chain.segments.length, 2);
    assert.ok(next.baseLsn > Math.max(...acked.values()), "the sealed tail covers every acknowledged record");

    const sealedPart = await readAll(bifrost, logId);
    assert.equal(sealedPart.length, next.baseLsn - 1);
    assertAcknowledgedReadable(sealedPart, acked, "w");
    // Records past the last ack that made it into the tail are whole records of the writer, each once.
    for (const e of sealedPart) assert.match(isTrimGap(e) ? "gap" : dec(e.payload), /^w\d+$/);

    const lsn = await bifrost.append(LogId(logId), [enc("after")]);
    assert.equal(lsn, next.baseLsn);
    // Any other node finds the same sealed tail from the log servers.
    const directory = await NodeDirectory.open(meta.store, rootLogger);
    const provider = new ReplicatedLogletProvider({ me: node(99), connections: directory.connections });
    closers.push(() => provider.close(), () => directory.close());
    const old = await provider.getLoglet(LogId(logId), chain.segments[0]);
    assert.equal(old.id, replicatedLogletId(LogId(logId), 0));
    assert.deepEqual(await old.findTail(), { nextOffset: next.baseLsn, sealed: true });
  });
});
