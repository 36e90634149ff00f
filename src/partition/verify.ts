import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "pino";
import { isTrimGap, type Bifrost } from "../bifrost/bifrost.ts";
import { compareStores, describeDifference, type StoreDifference } from "../storage/compare.ts";
import { PartitionStore, type ReadOnlyPartitionStore } from "../storage/partition-store.ts";
import { RepriseError } from "../types/errors.ts";
import { Lsn, type LogId, type PartitionId } from "../types/ids.ts";
import { decodeEnvelope } from "./records.ts";
import { StateMachine, type Effect } from "./state-machine/index.ts";

/** The log no longer holds every record the store was built from, so it cannot be replayed. */
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
  /** Where the rebuilt store is written, in a directory of its own that is removed afterwards. */
  readonly scratchDir: string;
  readonly logger: Logger;
  readonly readBatch?: number;
}

export interface VerifyReport {
  readonly partitionId: PartitionId;
  /** The LSN both stores were compared at: the live store's applied LSN when verification began. */
  readonly appliedLsn: Lsn;
  /** Log records applied to the scratch store. */
  readonly replayed: number;
  /** The first difference (left: live, right: rebuilt), or null when every table is identical. */
  readonly difference: StoreDifference | null;
  /** "identical", or the first difference in words. */
  readonly summary: string;
}

/**
 * An operator's proof that the log is the truth: rebuilds the partition from its log into a scratch
 * store, with the same state machine the processor applies, up to the LSN the live store has
 * applied, then compares every table of the two row by row. The live store is read through one
 * snapshot taken first, so the processor keeps applying meanwhile. The rebuild starts at the log's
 * first record: a log trimmed below that cannot be verified this way.
 */
export async function verifyPartition(o: VerifyOptions): Promise<VerifyReport> {
  mkdirSync(o.scratchDir, { recursive: true });
  const dir = mkdtempSync(join(o.scratchDir, `verify-p${o.partitionId}-`));
  const live = o.live.openSnapshot();
  const scratch = new PartitionStore(join(dir, "rebuilt.sqlite"));
  try {
    const appliedLsn = live.appliedLsn();
    const replayed = await replay(o, scratch, appliedLsn);
    const difference = scratch.read((rebuilt) => compareStores(live, rebuilt));
    const summary = difference === null ? "identical" : describeDifference(difference, { left: "live", right: "rebuilt" });
    o.logger.info({ partitionId: o.partitionId, appliedLsn, replayed, identical: difference === null }, "partition verified");
    return { partitionId: o.partitionId, appliedLsn, replayed, difference, summary };
  } finally {
    live.release();
    scratch.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Applies records 1..`upTo` of the partition's log to `store`, one write transaction per batch. */
async function replay(o: VerifyOptions, store: PartitionStore, upTo: Lsn): Promise<number> {
  const sm = new StateMachine(o.logger.child({ partitionId: o.partitionId, verify: true }));
  const batch = o.readBatch ?? 256;
  // Rebuilding produces effects as applying does; nobody carries them out.
  const effects: Effect[] = [];
  let next = 1;
  while (next <= upTo) {
    const entries = await o.bifrost.read(o.logId, Lsn(next), Math.min(batch, upTo - next + 1));
    if (entries.length === 0) throw new VerifyImpossibleError(o.partitionId, `the log ends before LSN ${next}, below the store's applied LSN ${upTo}`);
    store.write((tx) => {
      for (const entry of entries) {
        if (entry.lsn > upTo) break;
        if (isTrimGap(entry)) {
          throw new VerifyImpossibleError(o.partitionId, `its log is trimmed up to LSN ${entry.trimGapTo}, and the rebuild needs every record from LSN 1`);
        }
        sm.apply(tx, entry.lsn, decodeEnvelope(entry.payload, entry.lsn), effects);
        next = entry.lsn + 1;
      }
      tx.setAppliedLsn(Lsn(next - 1));
    });
    effects.length = 0;
  }
  return next - 1;
}
