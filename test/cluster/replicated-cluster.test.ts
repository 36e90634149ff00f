import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { parseReplicatedParams, replicatedLogletId } from "../../src/net/loglet-params.ts";
import { decodeDocument, METADATA_KEYS, type Logs, type NodesConfiguration } from "../../src/metadata/documents.ts";
import { EtcdMetadataStore } from "../../src/metadata/etcd-store.ts";
import { LogId, PlainNodeId } from "../../src/types/ids.ts";
import { startEtcd, type EtcdServer } from "../support/etcd.ts";
import { counter, greeter } from "../support/example-services.ts";
import { eventually } from "../support/eventually.ts";
import { callJson, registerDeployment, tempDir } from "../support/reprise.ts";
import { startRepriseServer, type RepriseProcess } from "../support/reprise-server.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import { header, logServerClient, node } from "../log-server/helpers.ts";

const CLUSTER = "it-cluster";
const PARTITIONS = 2;
const REPLICATION = 2;
/** Any node id: log servers answer reads from nodes they do not know. */
const READER = node(99);

/**
 * Three `reprise server` processes on a real etcd: n1 runs the worker (all partitions) and a log
 * server, n2 and n3 are log servers that `--join` later. Partition logs are replicated loglets
 * sequenced on n1 with replication 2.
 */
describe("three-node cluster with replicated partition logs", { timeout: 120_000 }, () => {
  const tmp = tempDir("reprise-cluster-");
  let etcd: EtcdServer;
  let metadata: EtcdMetadataStore;
  let sdk: SdkEndpoint;
  const nodes = new Map<string, RepriseProcess>();

  const startNode = async (name: string, roles: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RepriseProcess> => {
    const proc = await startRepriseServer(
      [
        ...["--metadata", `etcd://${new URL(etcd.endpoint).host}`, "--cluster-name", CLUSTER, "--node-name", name, "--roles", roles],
        ...["--base-dir", join(tmp.path, name), "--bind-address", "127.0.0.1", "--node-port", "0", "--ingress-port", "0", "--admin-port", "0"],
        ...["--partitions", String(PARTITIONS), "--replication", String(REPLICATION), ...extra],
      ],
      env,
    );
    nodes.set(name, proc);
    return proc;
  };
  const ingress = (): string => `http://127.0.0.1:${nodes.get("n1")!.ready.ingress}`;
  const doc = async <T>(key: string): Promise<T> => decodeDocument<T>((await metadata.get(key))!.value);

  /** Each log's tail segment: replicated, sequenced by `sequencer`, over exactly `nodeset`. */
  const tailsAre = async (sequencer: { id: number; generation: number }, nodeset: number[]): Promise<boolean> => {
    const logs = await doc<Logs>(METADATA_KEYS.logs);
    return (
      logs.defaultProvider === "replicated" &&
      logs.logs.length === PARTITIONS &&
      logs.logs.every((chain) => {
        const tail = chain.segments[chain.segments.length - 1];
        if (tail.provider !== "replicated") return false;
        const p = parseReplicatedParams(tail.params);
        return p.sequencer.id === sequencer.id && p.sequencer.generation === sequencer.generation && [...p.nodeset].sort().join() === nodeset.join();
      })
    );
  };

  /**
   * For every replicated segment of every log, how many of the given log servers hold each
   * committed offset (read back with GetRecords), keyed `loglet id -> offset -> copies`.
   */
  const copies = async (servers: RepriseProcess[]): Promise<Map<string, Map<number, number>>> => {
    const logs = await doc<Logs>(METADATA_KEYS.logs);
    const out = new Map<string, Map<number, number>>();
    for (const chain of logs.logs) {
      for (const [i, segment] of chain.segments.entries()) {
        const id = replicatedLogletId(LogId(chain.logId), segment.index);
        const { nodeset } = parseReplicatedParams(segment.params);
        const holders = servers.filter((s) => nodeset.includes(PlainNodeId(s.nodeId)));
        const clients = holders.map((s) => logServerClient(s.nodePort));
        try {
          const next = chain.segments[i + 1];
          // The sequencer tells log servers the committed tail lazily (a Release at most every
          // 100 ms), so a record a call just got acknowledged may be stored but not yet known as
          // committed; counting stops only once every stored record is known committed.
          let end = 0;
          if (next !== undefined) end = next.baseLsn - segment.baseLsn + 1;
          else {
            await eventually(async () => {
              const infos = await Promise.all(clients.map((c) => c.client.getLogletInfo({ header: header(READER, id) })));
              end = Math.max(...infos.map((r) => r.state!.knownGlobalTail));
              return end >= Math.max(...infos.map((r) => r.state!.localTail));
            }, 5_000, `${id}: every stored record known committed`);
          }
          const counts = new Map<number, number>();
          for (let offset = 1; offset < end; offset++) counts.set(offset, 0);
          for (const c of clients) {
            if (end <= 1) break;
            const res = await c.client.getRecords({ header: header(READER, id), fromOffset: 1, toOffset: end - 1, maxRecords: 100_000, maxBytes: 64 << 20 });
            for (const r of res.records) counts.set(r.offset, (counts.get(r.offset) ?? 0) + 1);
          }
          out.set(id, counts);
        } finally {
          for (const c of clients) c.close();
        }
      }
    }
    return out;
  };

  before(async () => {
    etcd = await startEtcd();
    metadata = new EtcdMetadataStore({ endpoints: [etcd.endpoint] });
    sdk = await startSdkEndpoint([greeter, counter]);
  });

  after(async () => {
    for (const proc of nodes.values()) await proc.kill9();
    await sdk?.close();
    await metadata?.close();
    await etcd?.remove();
    tmp.remove();
  });

  it("refuses --join when no node founds the cluster in time", async () => {
    await assert.rejects(startNode("early", "log-server", ["--join"], { REPRISE_CLUSTER__JOIN_TIMEOUT_MS: "300" }), /--join: no cluster 'it-cluster'.*after 300 ms/);
  });

  it("replicates partition logs over the log servers and keeps serving when one is killed", async (t) => {
    // Started together: n2 and n3 wait for n1 to found the cluster; n1 reports ready once two log servers are writable.
    const [n1, n2, n3] = await Promise.all([startNode("n1", "worker,log-server"), startNode("n2", "log-server", ["--join"]), startNode("n3", "log-server", ["--join"])]);
    const all = [n1, n2, n3].map((p) => p.nodeId).sort();
    assert.deepEqual(all, [1, 2, 3]);
    const members = await doc<NodesConfiguration>(METADATA_KEYS.nodesConfiguration);
    assert.equal(members.clusterName, CLUSTER);
    assert.ok(members.nodes.every((n) => n.logServer?.storageState === "read-write"));

    // n1 created the logs as soon as two log servers were writable; it moves them onto all three as they join.
    await eventually(() => tailsAre({ id: n1.nodeId, generation: 1 }, all), 20_000, "logs on all three log servers");

    const registered = await registerDeployment(`http://127.0.0.1:${n1.ready.admin}`, sdk.url);
    assert.equal(registered.status, 201, await registered.clone().text());
    const greet = await callJson(ingress(), "/Greeter/greet", "Ada");
    assert.equal(greet.status, 200);
    assert.equal(await greet.json(), "Hello, Ada!");
    for (let i = 1; i <= 3; i++) assert.equal(await (await callJson(ingress(), "/Counter/c/add", 1)).json(), i);

    // Every committed record is on `replication` log servers.
    const before = await copies([n1, n2, n3]);
    const records = [...before.values()].reduce((n, m) => n + m.size, 0);
    assert.ok(records > 0, "the partition logs hold records");
    for (const [loglet, counts] of before) for (const [offset, n] of counts) assert.ok(n >= REPLICATION, `${loglet}@${offset} has ${n} copies`);

    // kill -9 a log server that is not the sequencer's node: calls keep succeeding on the other two.
    const victim = n3;
    t.diagnostic(`killing log server N${victim.nodeId} (pid ${victim.pid})`);
    await victim.kill9();
    const killedAt = Date.now();
    const after = await callJson(ingress(), "/Greeter/greet", "Bob");
    assert.equal(await after.json(), "Hello, Bob!");
    for (let i = 4; i <= 6; i++) assert.equal(await (await callJson(ingress(), "/Counter/c/add", 1)).json(), i);
    t.diagnostic(`calls after the kill took ${Date.now() - killedAt} ms`);

    // What was written after the kill has its copies on the two survivors.
    const survivors = await copies([n1, n2]);
    let newRecords = 0;
    for (const [loglet, counts] of survivors) {
      const earlier = before.get(loglet);
      for (const [offset, n] of counts) {
        if (earlier?.has(offset)) {
          assert.ok(n >= 1, `${loglet}@${offset} survived on N${n1.nodeId} or N${n2.nodeId}`);
        } else {
          newRecords++;
          assert.ok(n >= REPLICATION, `${loglet}@${offset} (after the kill) has ${n} copies`);
        }
      }
    }
    assert.ok(newRecords > 0, "records were appended after the kill");
  });

  it("a worker killed mid-load restarts as the next generation, seals its segments and applies every call exactly once", async (t) => {
    const n1 = nodes.get("n1")!;
    // Counter/c is at 6. Idempotent adds run on 4 lanes until the worker dies under them.
    const add = async (i: number): Promise<number | null> => {
      try {
        const res = await callJson(ingress(), "/Counter/c/add", 1, { "idempotency-key": `add-${i}` });
        return res.status === 200 ? ((await res.json()) as number) : null;
      } catch {
        return null;
      }
    };
    const answered = new Map<number, number>();
    let next = 0;
    let killed = false;
    const lane = async (): Promise<void> => {
      while (!killed && next < 500) {
        const i = next++;
        const value = await add(i);
        if (value !== null) answered.set(i, value);
      }
    };
    const lanes = Array.from({ length: 4 }, lane);
    await eventually(() => answered.size >= 20, 20_000, "20 adds answered before the kill");
    killed = true;
    await n1.kill9();
    await Promise.all(lanes);
    const sent = next;
    t.diagnostic(`worker killed after ${answered.size} of ${sent} adds were answered`);

    const again = await startNode("n1", "worker,log-server");
    assert.equal(again.ready.node, `N${n1.nodeId}:2`);
    // n3 is dead: the restarted worker's new segments leave it out. Node ids follow the order the
    // joiners won their registration, so the live set is named by id, not by name.
    const live = [again.nodeId, nodes.get("n2")!.nodeId].sort();
    await eventually(() => tailsAre({ id: again.nodeId, generation: 2 }, live), 20_000, `new segments on the live log servers N${live.join(", N")}`);
    // Retrying every add with its key: answered ones return their first result, the rest apply once.
    for (let i = 0; i < sent; i++) {
      const value = await add(i);
      assert.notEqual(value, null, `add-${i} after the restart`);
      if (answered.has(i)) assert.equal(value, answered.get(i), `add-${i} returns its first result`);
    }
    assert.equal(await (await callJson(ingress(), "/Counter/c/add", 0)).json(), 6 + sent);
    const logs = await doc<Logs>(METADATA_KEYS.logs);
    for (const chain of logs.logs) {
      const sequencers = chain.segments.map((s) => parseReplicatedParams(s.params).sequencer.generation);
      assert.equal(sequencers[sequencers.length - 1], 2);
      assert.ok(sequencers.slice(0, -1).every((g) => g === 1), "earlier segments were written by generation 1");
    }
  });

  it("stalls while no write quorum is reachable and completes the same call once it is, without a restart", async (t) => {
    // n3 is dead; freezing n2 leaves the worker's log server n1 alone: no record can get its two copies.
    const n2 = nodes.get("n2")!;
    const before = (await (await callJson(ingress(), "/Counter/c/add", 0)).json()) as number;
    process.kill(n2.pid, "SIGSTOP");
    let answered = false;
    let pending: Promise<Response>;
    try {
      pending = callJson(ingress(), "/Counter/c/add", 1).then((res) => {
        answered = true;
        return res;
      });
      await sleep(3_000);
      assert.equal(answered, false, "a call is not answered without a write quorum");
    } finally {
      process.kill(n2.pid, "SIGCONT");
    }
    const resumedAt = Date.now();
    const res = await pending;
    t.diagnostic(`the stalled call was answered ${Date.now() - resumedAt} ms after the log server resumed`);
    assert.equal(res.status, 200);
    assert.equal(await res.json(), before + 1);
    assert.equal(await (await callJson(ingress(), "/Counter/c/add", 1)).json(), before + 2);
  });
});
