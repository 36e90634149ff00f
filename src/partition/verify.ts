import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { isTrimGap, type Bifrost } from "../bifrost/bifrost.ts";
import type { StoreRestorer } from "../snapshots/bootstrap.ts";
import { compareStores, describeDifference, type StoreDifference } from "../storage/compare.ts";
import { PartitionStore, type ReadOnlyPartitionStore, type StoreSnapshot } from "../storage/partition-store.ts";
import { RepriseError } from "../types/errors.ts";
import { Lsn, type LogId, type PartitionId } from "../types/ids.ts";
import { decodeEnvelope } from "./records.ts";
import { StateMachine, type Effect } from "./state-machine/index.ts";

/** The partition cannot be rebuilt to the live store's LSN: its log is trimmed past what any snapshot covers, or the replica lags. */
export class VerifyImpossibleError extends RepriseError {
  constructor(partition: PartitionId, message: string) {
    super("verify_impossible", `cannot verify partition ${partition}: ${message}`, false, 409);
  }
}

export interface VerifyOptions {
  readonly partitionId: PartitionId;
  readonly logId: LogId;
  readonly bifrost: Bifrost;
  /** The replica's store, read through one snapshot for the whole comparison. */
  readonly live: ReadOnlyPartitionStore;
  /** Installs the newest snapshot into the scratch store; without one the rebuild starts at LSN 1. */
  readonly restorer?: StoreRestorer;
  /** Where the rebuilt store is written, in a directory of its own that is removed afterwards. */
  readonly scratchDir: string;
  readonly logger: Logger;
  readonly readBatch?: number;
  /** How long to wait for a replica behind the newest snapshot to reach it. */
  readonly catchUpTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

export interface VerifyReport {
  readonly partitionId: PartitionId;
  /** The LSN both stores were compared at: the live store's applied LSN when the comparison began. */
  readonly appliedLsn: Lsn;
  /** Applied LSN of the snapshot the rebuild started from; 0 when it started at the log's first record. */
  readonly fromSnapshotLsn: Lsn;
  /** Log records applied to the scratch store after the snapshot (all of them without one). */
  readonly replayed: number;
  /** The first difference (left: live, right: rebuilt), or null when every table is identical. */
  readonly difference: StoreDifference | null;
  /** "identical", or the first difference in words. */
  readonly summary: string;
}

const DEFAULT_CATCH_UP_MS = 30_000;
const CATCH_UP_POLL_MS = 50;

/**
 * An operator's proof that the log is the truth: rebuilds the partition in a scratch store from
 * its newest snapshot (when a repository has one) and its log after it, with the same state
 * machine the processor applies, up to the LSN the live store has applied, then compares every
 * table of the two row by row. The live store is read through one snapshot, so the processor keeps
 * applying meanwhile. Without a snapshot the rebuild starts at the log's first record, so a log
 * trimmed below what a snapshot covers cannot be verified.
 */
export async function verifyPartition(o: VerifyOptions): Promise<VerifyReport> {
  mkdirSync(o.scratchDir, { recursive: true });
  const dir = mkdtempSync(join(o.scratchDir, `verify-p${o.partitionId}-`));
  const scratch = new PartitionStore(join(dir, "rebuilt.sqlite"));
  let live: StoreSnapshot | null = null;
  try {
    const fromSnapshotLsn = await restoreNewest(o, scratch);
    live = await liveAtLeast(o, fromSnapshotLsn);
    const appliedLsn = live.appliedLsn();
    const replayed = await replay(o, scratch, fromSnapshotLsn, appliedLsn);
    const current = live;
    const difference = scratch.read((rebuilt) => compareStores(current, rebuilt));
    const summary = difference === null ? "identical" : describeDifference(difference, { left: "live", right: "rebuilt" });
    o.logger.info({ partitionId: o.partitionId, appliedLsn, fromSnapshotLsn, replayed, identical: difference === null }, "partition verified");
    return { partitionId: o.partitionId, appliedLsn, fromSnapshotLsn, replayed, difference, summary };
  } finally {
    live?.release();
    scratch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Installs the newest usable snapshot into the empty scratch store; returns its applied LSN (0: none). */
async function restoreNewest(o: VerifyOptions, scratch: PartitionStore): Promise<Lsn> {
  if (o.restorer === undefined) return Lsn(0);
  // Required: past the trim point, so a trimmed log waits for the repository; otherwise a snapshot only saves replaying.
  const required = await o.bifrost.getTrimPoint(o.logId);
  return o.restorer.restore({ partitionId: o.partitionId, logId: o.logId, store: scratch, required, signal: o.signal ?? new AbortController().signal });
}

/** A snapshot of the live store at `lsn` or later: a replica behind the newest snapshot is waited for. */
async function liveAtLeast(o: VerifyOptions, lsn: Lsn): Promise<StoreSnapshot> {
  const deadline = Date.now() + (o.catchUpTimeoutMs ?? DEFAULT_CATCH_UP_MS);
  for (;;) {
    const live = o.live.openSnapshot();
    const applied = live.appliedLsn();
    if (applied >= lsn) return live;
    live.release();
    if (Date.now() >= deadline) throw new VerifyImpossibleError(o.partitionId, `the replica has applied up to LSN ${applied}, behind the snapshot at LSN ${lsn}`);
    await sleep(CATCH_UP_POLL_MS, undefined, { signal: o.signal });
  }
}

/** Applies records `after`+1..`upTo` of the partition's log to `store`, one write transaction per batch. */
async function replay(o: VerifyOptions, store: PartitionStore, after: Lsn, upTo: Lsn): Promise<number> {
  const sm = new StateMachine(o.logger.child({ partitionId: o.partitionId, verify: true }));
  const batch = o.readBatch ?? 256;
  // Rebuilding produces effects as applying does; nobody carries them out.
  const effects: Effect[] = [];
  let next = after + 1;
  while (next <= upTo) {
    const entries = await o.bifrost.read(o.logId, Lsn(next), Math.min(batch, upTo - next + 1));
    if (entries.length === 0) throw new VerifyImpossibleError(o.partitionId, `the log ends before LSN ${next}, below the store's applied LSN ${upTo}`);
    store.write((tx) => {
      for (const entry of entries) {
        if (entry.lsn > upTo) break;
        if (isTrimGap(entry)) {
          const start = after === 0 ? "every record from LSN 1 (there is no snapshot to start from)" : `every record after the snapshot at LSN ${after}`;
          throw new VerifyImpossibleError(o.partitionId, `its log is trimmed up to LSN ${entry.trimGapTo}, and the rebuild needs ${start}`);
        }
        sm.apply(tx, entry.lsn, decodeEnvelope(entry.payload, entry.lsn), effects);
        next = entry.lsn + 1;
      }
      tx.setAppliedLsn(Lsn(next - 1));
    });
    effects.length = 0;
  }
  return next - 1 - after;
}
