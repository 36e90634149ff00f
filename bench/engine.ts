/** End-to-end benchmark: real server process, real SDK service process, HTTP load from here. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startEtcd } from "../test/support/etcd.ts";
import { startReadyChild } from "../test/support/process.ts";
import { startRepriseServer, type RepriseProcess } from "../test/support/reprise-server.ts";
import { formatLoad, runLoad, type LoadResult } from "./load.ts";
import { sampleProcesses } from "./process-stats.ts";

const REPO = resolve(import.meta.dirname, "..");
const READY_TIMEOUT_MS = 30_000;

/** Extra `node` flags for the server (the cluster's worker), e.g. `BENCH_SERVER_NODE_ARGS="--cpu-prof"`. */
const serverNodeArgs = (): string[] => process.env.BENCH_SERVER_NODE_ARGS?.split(" ").filter(Boolean) ?? [];

/** A running server (one node or a whole cluster) the load is sent to. */
export interface BenchTarget {
  /** Every ingress; the load is spread over them round-robin. */
  readonly ingresses: readonly string[];
  readonly admin: string;
  /** The server processes, whose CPU time and memory a benchmark may read. */
  readonly serverPids: readonly number[];
  stop(): Promise<void>;
}

/** A single Reprise node on embedded defaults. */
export async function startSingleNode(dir: string): Promise<BenchTarget> {
  const server = await startRepriseServer(
    ["--base-dir", dir, "--bind-address", "127.0.0.1", "--ingress-port", "0", "--admin-port", "0", "--node-port", "0"],
    {},
    { nodeArgs: serverNodeArgs(), readyTimeoutMs: READY_TIMEOUT_MS },
  );
  return {
    ingresses: [`http://127.0.0.1:${server.ready.ingress}`],
    admin: `http://127.0.0.1:${server.ready.admin}`,
    serverPids: [server.pid],
    stop: () => server.stop(),
  };
}

/** Copies of each partition log (log servers) and replicas of each partition (workers); both 2 by default. */
export interface ClusterReplication {
  readonly log: number;
  readonly partition: number;
}

/**
 * A three-node cluster on a real etcd, every node a worker and a log server, replication 2 as
 * Restate's `default-replication` means it: each partition has a leader and one follower on
 * another node, and partition logs are replicated loglets with two copies (every append waits for
 * two fsync'd copies, one of them on another process). The load goes to all three ingresses: a call
 * whose partition is led elsewhere is forwarded, its result relayed back to a node without a replica.
 */
async function startCluster(dir: string, replication: ClusterReplication): Promise<BenchTarget> {
  const etcd = await startEtcd();
  const nodes: RepriseProcess[] = [];
  try {
    const common = ["--metadata", `etcd://${new URL(etcd.endpoint).host}`, "--cluster-name", "bench", "--bind-address", "127.0.0.1", "--node-port", "0", "--replication", String(replication.log), "--partition-replication", String(replication.partition)];
    const start = (name: string, extra: string[], nodeArgs: string[] = []) =>
      startRepriseServer([...common, "--node-name", name, "--base-dir", join(dir, name), ...extra], {}, { nodeArgs });
    const worker = ["--roles", "worker,log-server", "--ingress-port", "0", "--admin-port", "0"];
    const starting = [
      start("n1", worker, serverNodeArgs()),
      start("n2", [...worker, "--join"], serverNodeArgs()),
      start("n3", [...worker, "--join"], serverNodeArgs()),
    ];
    // Each started process is kept for cleanup even if another one fails to start.
    const settled = await Promise.allSettled(starting);
    for (const s of settled) if (s.status === "fulfilled") nodes.push(s.value);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  } catch (e) {
    for (const n of nodes) await n.kill9();
    await etcd.remove();
    throw e;
  }
  return {
    ingresses: nodes.map((n) => `http://127.0.0.1:${n.ready.ingress}`),
    admin: `http://127.0.0.1:${nodes[0].ready.admin}`,
    serverPids: nodes.map((n) => n.pid),
    stop: async () => {
      for (const n of nodes) await n.stop();
      await etcd.remove();
    },
  };
}

/** Registers the bench SDK service on `target` and waits until every ingress serves calls to it. */
export async function registerBenchService(target: BenchTarget, sdkUrl: string): Promise<void> {
  const reg = await fetch(`${target.admin}/deployments`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ uri: sdkUrl }) });
  if (reg.status !== 201) throw new Error(`registration failed: ${reg.status} ${await reg.text()}`);
  await awaitServing(target.ingresses);
}

/** Registers the bench SDK service on `target` and runs the greeter and counter loads against it. */
async function runWorkloads(target: BenchTarget, sdkUrl: string, label: string, durationMs: number, concurrency: number): Promise<LoadResult[]> {
  const { ingresses } = target;
  await registerBenchService(target, sdkUrl);
  const at = (i: number, path: string) => `${ingresses[i % ingresses.length]}${path}`;
  // Warm-up: connections, JIT, SQLite caches.
  await runLoad({ name: "warmup", url: ingresses[0], pathFor: (i) => at(i, "/Greeter/greet"), body: (i) => JSON.stringify(`w${i}`), concurrency, durationMs: 1500, maxRequests: 5000 });
  const measured = async (load: Parameters<typeof runLoad>[0]): Promise<LoadResult> => {
    const before = sampleProcesses(target.serverPids).cpuMs;
    const result = await runLoad(load);
    return { ...result, serverCpuMsPerCall: (sampleProcesses(target.serverPids).cpuMs - before) / Math.max(1, result.requests) };
  };
  return [
    await measured({
      name: `${label}greeter ctx.run (c=${concurrency})`,
      url: ingresses[0],
      pathFor: (i) => at(i, "/Greeter/greet"),
      body: (i) => JSON.stringify(`user-${i}`),
      concurrency,
      durationMs,
      maxRequests: 500_000,
    }),
    await measured({
      name: `${label}counter 100 keys (c=${concurrency})`,
      url: ingresses[0],
      pathFor: (i) => at(i, `/Counter/key-${i % 100}/add`),
      body: () => "1",
      concurrency,
      durationMs,
      maxRequests: 500_000,
    }),
  ];
}

/** Waits (bounded) until every ingress answers a call: a cluster places its partitions after start. */
async function awaitServing(ingresses: readonly string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const ingress of ingresses) {
    for (;;) {
      const res = await fetch(`${ingress}/Greeter/greet`, { method: "POST", headers: { "content-type": "application/json" }, body: '"warm"' }).catch(() => null);
      if (res?.status === 200) break;
      if (Date.now() > deadline) throw new Error(`${ingress} did not serve calls within 60 s (last status ${res?.status ?? "no answer"})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function runAgainst(
  startTarget: (dir: string) => Promise<BenchTarget>,
  label: string,
  opts: { durationMs?: number; concurrency?: number },
): Promise<LoadResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "reprise-bench-"));
  const sdk = await startReadyChild<{ port: number }>(join(REPO, "bench/sdk-service.ts"), [], { readyTimeoutMs: READY_TIMEOUT_MS });
  let target: BenchTarget | null = null;
  try {
    target = await startTarget(dir);
    return await runWorkloads(target, `http://127.0.0.1:${sdk.ready.port}`, label, opts.durationMs ?? 10_000, opts.concurrency ?? 32);
  } finally {
    await target?.stop();
    await sdk.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Single node on embedded defaults (local loglet). */
export function runEngineBench(opts: { durationMs?: number; concurrency?: number } = {}): Promise<LoadResult[]> {
  return runAgainst(startSingleNode, "", opts);
}

/**
 * Three-node cluster, replicated partition logs (etcd, 3 log servers, replication 2 unless given):
 * lower replications show what each copy costs.
 */
export function runClusterEngineBench(opts: { durationMs?: number; concurrency?: number; replication?: Partial<ClusterReplication> } = {}): Promise<LoadResult[]> {
  const replication: ClusterReplication = { log: opts.replication?.log ?? 2, partition: opts.replication?.partition ?? 2 };
  const label = replication.log === replication.partition ? `r=${replication.log}` : `log r=${replication.log} partitions r=${replication.partition}`;
  return runAgainst((dir) => startCluster(dir, replication), `cluster 3x ${label} `, opts);
}

/** One workload's throughput on the cluster as a share of the single node's, in one run. */
export interface ClusterShare {
  /** The workload, without the cluster's label. */
  readonly workload: string;
  /** Cluster throughput / single-node throughput, one per round, in round order. */
  readonly perRound: readonly number[];
  readonly median: number;
}

/** What `engine-cluster` prints: every load of every round, and the cluster's share per workload. */
export interface ClusterVsSingle {
  readonly loads: readonly LoadResult[];
  readonly shares: readonly ClusterShare[];
}

/**
 * Callers in the cluster-versus-single comparison unless given. It compares throughput, so the
 * load must saturate both: at 32 callers neither is (the single node does about half again as much
 * at 256 on this machine), and the ratio measured there is one of latencies, a cluster call making
 * more hops, not of what each can serve.
 */
const SATURATING_CONCURRENCY = 256;
/** Rounds unless given: one round's share moves by tens of percent with the machine's speed. */
const DEFAULT_ROUNDS = 3;

/**
 * The cluster and the single node measured in the same run, in alternating order over `rounds`
 * (single first in odd rounds, cluster first in even ones): this machine's speed drifts by tens of
 * percent over minutes, so a ratio of runs made at different times says more about the drift than
 * about the cluster. Each round starts fresh servers, as the separate benchmarks do.
 */
export async function runClusterVsSingle(given: { durationMs?: number; concurrency?: number; replication?: Partial<ClusterReplication>; rounds?: number } = {}): Promise<ClusterVsSingle> {
  const opts = { ...given, concurrency: given.concurrency ?? SATURATING_CONCURRENCY };
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  const loads: LoadResult[] = [];
  const pairs: { single: readonly LoadResult[]; cluster: readonly LoadResult[] }[] = [];
  for (let round = 0; round < rounds; round++) {
    const singleFirst = round % 2 === 0;
    const first = await (singleFirst ? runEngineBench : runClusterEngineBench)(opts);
    const second = await (singleFirst ? runClusterEngineBench : runEngineBench)(opts);
    loads.push(...first, ...second);
    pairs.push(singleFirst ? { single: first, cluster: second } : { single: second, cluster: first });
  }
  const shares = pairs[0].single.map((single, i): ClusterShare => {
    const perRound = pairs.map((p) => p.cluster[i].throughput / Math.max(1e-9, p.single[i].throughput));
    const sorted = [...perRound].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return { workload: single.name, perRound, median: sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2 };
  });
  return { loads, shares };
}

export function formatClusterShare(s: ClusterShare): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  return `cluster / single ${s.workload.padEnd(26)} ${pct(s.median).padStart(6)}${s.perRound.length > 1 ? `   (rounds: ${s.perRound.map(pct).join(", ")})` : ""}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await runEngineBench()) console.log(formatLoad(r));
}
