/**
 * `npm run chaos`: a Reprise cluster under faults, checked. Outside, it re-executes itself in a
 * private network namespace (so nothing it starts is reachable from, or reaches, the machine's
 * network) and afterwards kills, by pid, anything the inside left running. Inside, it starts a
 * 3-member etcd cluster and 3 Reprise nodes (each node's processes as its own uid on its own
 * loopback address), the SDK service, and runs rounds of workload + faults; it prints each round's
 * figures and exits non-zero on a lost or duplicated add or a recovery over its bound.
 */
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { registerDeployment } from "../test/support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../test/support/sdk-endpoint.ts";
import { ChaosCluster } from "./cluster.ts";
import { Firewall } from "./firewall.ts";
import { ChaosPrerequisiteError, OUTER_NAMESPACE_ENV, runInPrivateNetwork, setUpLoopback } from "./namespace.ts";
import type { FaultRecord } from "./nemesis.ts";
import { parseOptions, UsageError, type ChaosOptions } from "./options.ts";
import { seededRandom } from "./random.ts";
import { failures, formatRound, formatSummary } from "./report.ts";
import type { Recovery } from "./recovery.ts";
import { runRound, type RoundResult } from "./round.ts";
import { chaosSet } from "./set-service.ts";
import { verifyAttribution } from "./sockets.ts";
import { clusterTopology, SERVICE_ADDRESS, SERVICE_PORT } from "./topology.ts";

const NODE_COUNT = 3;
const REPLICATION = 2;
const REGISTER_ATTEMPTS = 20;

async function outside(argv: string[]): Promise<number> {
  parseOptions(argv);
  const pidFile = join(tmpdir(), `reprise-chaos-${process.pid}.pids`);
  return runInPrivateNetwork(import.meta.filename, argv, pidFile);
}

async function inside(argv: string[]): Promise<number> {
  const o = parseOptions(argv);
  const abort = new AbortController();
  const onSignal = (signal: string) => () => {
    if (abort.signal.aborted) return;
    process.stderr.write(`chaos: ${signal}: healing and stopping every process\n`);
    abort.abort();
  };
  process.on("SIGINT", onSignal("SIGINT"));
  process.on("SIGTERM", onSignal("SIGTERM"));

  await setUpLoopback();
  const nodes = clusterTopology(NODE_COUNT, o.roles);
  const firewall = await Firewall.install(nodes);
  const runDir = mkdtempSync(join(tmpdir(), "reprise-chaos-"));
  // The nodes' uids must reach their directories under it.
  chmodSync(runDir, 0o755);
  log(`seed ${o.seed}; ${o.rounds} round(s) of ${o.roundMs / 1000} s, faults held ${o.holdMs / 1000} s; roles ${o.roles}; nemeses ${o.nemeses.join(",")}; run directory ${runDir}`);
  let sdk: SdkEndpoint | null = null;
  let cluster: ChaosCluster | null = null;
  const rounds: RoundResult[] = [];
  let failed: string[] = [];
  try {
    sdk = await startSdkEndpoint([chaosSet], { host: SERVICE_ADDRESS, port: SERVICE_PORT });
    const startedAt = Date.now();
    cluster = await ChaosCluster.start({ runDir, nodes, partitions: o.partitions, replication: REPLICATION, logLevel: o.logLevel });
    await register(cluster.adminUrl(), sdk.url);
    log(`cluster up in ${Date.now() - startedAt} ms: ${nodes.map((n) => `${n.name} ${n.address} uid ${n.uid} [${n.roles.join(",")}]`).join("; ")}`);
    const verify = (): Promise<void> => verifyAttribution(nodes, [process.pid]);
    await verify();
    const random = seededRandom(o.seed);
    let faultsSoFar = 0;
    for (let i = 1; i <= o.rounds && !abort.signal.aborted; i++) {
      // The heal's time and each ingress's recovery, to find a slow one in the nodes' logs.
      const onFault = (f: FaultRecord, { recoveryMs, perIngress }: Recovery): void =>
        log(
          `round ${i}: ${f.nemesis}: ${f.description}; held ${f.healedAt - f.injectedAt} ms; recovered ${recoveryMs === null ? "never" : `${recoveryMs} ms`} after the heal ` +
            `at ${new Date(f.healedAt).toISOString().slice(11, 23)} (${Object.entries(perIngress).map(([node, ms]) => `${node} ${ms ?? "never"}`).join(", ")})`,
        );
      const result = await runRound(i, { cluster, firewall, random, signal: abort.signal, verify, onFault }, roundSettings(o, faultsSoFar));
      faultsSoFar += result.faults.length;
      rounds.push(result);
      log(`\n${formatRound(result, o.recoveryBoundMs)}\n`);
    }
    failed = failures(rounds, o.recoveryBoundMs);
  } catch (e) {
    failed = [`the harness failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`];
  } finally {
    await firewall.heal();
    await cluster?.stop();
    await sdk?.close();
    await firewall.remove();
  }
  if (rounds.length > 0) log(`\n${formatSummary(rounds, o.recoveryBoundMs)}\n`);
  if (abort.signal.aborted) {
    log("interrupted");
    return 130;
  }
  if (failed.length > 0) {
    log(`FAIL\n  ${failed.join("\n  ")}\nnode data and logs kept in ${runDir}`);
    return 1;
  }
  if (o.keep) log(`node data and logs kept in ${runDir}`);
  else rmSync(runDir, { recursive: true, force: true });
  log("PASS: no acknowledged add lost, none applied twice, every recovery within its bound");
  return 0;
}

function roundSettings(o: ChaosOptions, firstNemesis: number): Parameters<typeof runRound>[2] {
  return {
    durationMs: o.roundMs,
    warmupMs: Math.min(3_000, o.roundMs / 10),
    holdMs: o.holdMs,
    quietMs: 2_000,
    nemeses: o.nemeses,
    firstNemesis,
    lanes: o.lanes,
    keys: o.keys,
    partitions: o.partitions,
    maxOps: 100_000,
    requestTimeoutMs: 3_000,
    opDeadlineMs: 30_000,
    recoveryWaitMs: 60_000,
    readBackMs: 60_000,
  };
}

/** The first worker registers the SDK service; the schema reaches the others through the metadata store. */
async function register(admin: string, uri: string): Promise<void> {
  let last = "";
  for (let attempt = 1; attempt <= REGISTER_ATTEMPTS; attempt++) {
    try {
      const res = await registerDeployment(admin, uri);
      if (res.status === 200 || res.status === 201) return;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await sleep(500);
  }
  throw new Error(`could not register the SDK service ${uri} at ${admin}: ${last}`);
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

const argv = process.argv.slice(2);
(process.env[OUTER_NAMESPACE_ENV] === undefined ? outside(argv) : inside(argv)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const known = e instanceof UsageError || e instanceof ChaosPrerequisiteError;
    process.stderr.write(`chaos: ${known ? (e as Error).message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(known ? 2 : 1);
  },
);
