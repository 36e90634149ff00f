import { acksWhileHeld, check, type AcksWhileHeld, type CheckResult } from "./checker.ts";
import type { ChaosCluster } from "./cluster.ts";
import type { Firewall } from "./firewall.ts";
import { hold } from "./hold.ts";
import { LeaderWatch } from "./leaders.ts";
import { keysOverPartitions } from "./partition-keys.ts";
import { faultDurationMs, runNemesis, type FaultRecord, type NemesisName } from "./nemesis.ts";
import { measureRecovery, type Recovery } from "./recovery.ts";
import type { LeaderChange } from "./leaders.ts";
import { checkReplicasAgree, type ReplicaAgreement } from "./replicas.ts";
import { readSet, runWorkload, type OpRecord } from "./workload.ts";

export interface RoundSettings {
  readonly durationMs: number;
  /** Workload only, before the first fault. */
  readonly warmupMs: number;
  /** How long a fault holds. */
  readonly holdMs: number;
  /** Workload only, between a recovery and the next fault. */
  readonly quietMs: number;
  /** Faults are taken from this list in turn, starting at `firstNemesis` (so rounds cover them all). */
  readonly nemeses: readonly NemesisName[];
  readonly firstNemesis: number;
  readonly lanes: number;
  /** Objects the workload adds to, spread over the partitions. */
  readonly keys: number;
  readonly partitions: number;
  readonly maxOps: number;
  readonly requestTimeoutMs: number;
  readonly opDeadlineMs: number;
  /** How long to wait for every ingress to answer after a heal before calling it unrecovered. */
  readonly recoveryWaitMs: number;
  /** How long the final reads of the objects may take. */
  readonly readBackMs: number;
}

export interface FaultResult extends FaultRecord {
  readonly recoveryMs: number | null;
  /** Adds acknowledged while the fault held. */
  readonly acks: AcksWhileHeld;
}

export interface RoundResult {
  readonly index: number;
  readonly durationMs: number;
  readonly check: CheckResult;
  readonly faults: readonly FaultResult[];
  /** Leader changes per partition id, as the partition table showed them. */
  readonly leaderChanges: ReadonlyMap<number, number>;
  /** Every leader change, in order, for the per-fault check (at most one per partition per fault). */
  readonly leaderChangeEvents: readonly LeaderChange[];
  /** Whether every node's replicas ended with the same state (see `checkReplicasAgree`). */
  readonly replicas: ReplicaAgreement;
}

export interface RoundEnv {
  readonly cluster: ChaosCluster;
  readonly firewall: Firewall;
  readonly random: () => number;
  readonly signal: AbortSignal;
  readonly verify: () => Promise<void>;
  /** Told about each fault once it has recovered (or not), for progress output. */
  readonly onFault: (fault: FaultRecord, recovery: Recovery) => void;
}

/**
 * One round: the workload runs for the round's duration while faults follow each other (inject,
 * hold, heal, wait for recovery, quiet); a fault that would not end before the round does is not
 * started. Then the objects are read back and checked against what the clients were told.
 */
export async function runRound(index: number, env: RoundEnv, s: RoundSettings): Promise<RoundResult> {
  const startedAt = Date.now();
  const until = startedAt + s.durationMs;
  const keys = keysOverPartitions(`r${index}`, s.keys, s.partitions).map((k) => k.key);
  const leaders = new LeaderWatch(env.cluster);
  leaders.start();
  // A failed fault (a node that does not restart) ends the workload early instead of at the round's end.
  const stopWorkload = new AbortController();
  const signal = AbortSignal.any([env.signal, stopWorkload.signal]);
  const workload = runWorkload({
    ingresses: () => env.cluster.liveIngresses(),
    keys,
    tag: `r${index}`,
    lanes: s.lanes,
    maxOps: s.maxOps,
    until,
    requestTimeoutMs: s.requestTimeoutMs,
    opDeadlineMs: s.opDeadlineMs,
    signal,
  });
  const faults: Omit<FaultResult, "acks">[] = [];
  let ops: OpRecord[] = [];
  let lists: (string[] | null)[] = [];
  let replicas: ReplicaAgreement = { agreed: false, digests: {} };
  let changes: { counts: Map<number, number>; events: LeaderChange[] };
  try {
    try {
      await hold(s.warmupMs, signal);
      for (let k = s.firstNemesis; !signal.aborted; k++) {
        const nemesis = s.nemeses[k % s.nemeses.length];
        if (Date.now() + faultDurationMs(nemesis, s.holdMs) + s.quietMs > until) break;
        let recovering: Promise<Recovery> | null = null;
        const healing = (at: number): void => void (recovering = measureRecovery(env.cluster, s.partitions, at, s.recoveryWaitMs, signal));
        const fault = await runNemesis(nemesis, { cluster: env.cluster, firewall: env.firewall, random: env.random, holdMs: s.holdMs, signal, verify: env.verify, healing });
        if (recovering === null) throw new Error(`${nemesis} returned without healing`);
        const recovery: Recovery = await recovering;
        // Interrupted: the probes were cut short, so there is no recovery time to report.
        if (signal.aborted) break;
        faults.push({ ...fault, recoveryMs: recovery.recoveryMs });
        env.onFault(fault, recovery);
        await hold(s.quietMs, signal);
      }
    } catch (e) {
      stopWorkload.abort();
      throw e;
    } finally {
      ops = await workload;
    }
    const readUntil = Date.now() + s.readBackMs;
    lists = await Promise.all(keys.map((key) => readSet(() => env.cluster.liveIngresses(), key, s.requestTimeoutMs, readUntil, env.signal)));
    replicas = await checkReplicasAgree(env.cluster, s.readBackMs, env.signal);
  } finally {
    changes = await leaders.stop();
  }
  return {
    index,
    durationMs: Date.now() - startedAt,
    check: check(ops, new Map(keys.map((key, i) => [key, lists[i]]))),
    faults: faults.map((f) => ({ ...f, acks: acksWhileHeld(ops, f.injectedAt, f.healedAt) })),
    leaderChanges: changes.counts,
    leaderChangeEvents: changes.events,
    replicas,
  };
}
