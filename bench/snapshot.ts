/**
 * Snapshot benchmark: a partition store with 100,000 state entries is snapshotted into a file://
 * repository while an apply loop keeps committing (the gaps between two of its commits are the
 * apply stalls), then installed into an empty store as a new replica would bootstrap. Each of
 * `ROUNDS` snapshots is followed by as long an apply loop without one: on a shared machine the
 * gaps are mostly other processes' doing, and only the comparison says what the snapshot adds.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as tick } from "node:timers/promises";
import { pino } from "pino";
import { createLocalBifrost } from "../src/bifrost/local/create-local-bifrost.ts";
import { InMemoryMetadataStore } from "../src/metadata/memory-store.ts";
import { SnapshotBootstrap } from "../src/snapshots/bootstrap.ts";
import { FileObjectStore } from "../src/snapshots/file-object-store.ts";
import { SnapshotRepository } from "../src/snapshots/repository.ts";
import { SnapshotTaker } from "../src/snapshots/snapshot-taker.ts";
import { PartitionStore } from "../src/storage/partition-store.ts";
import { LogId, Lsn, LSN_INVALID, PartitionId } from "../src/types/ids.ts";

const ENTRIES = 100_000;
const ROUNDS = 3;
const VALUE = Buffer.alloc(64, 7);
const P = PartitionId(0);
const LOG = LogId(0);

/** Gaps between two commits of the apply loop (ms). */
export interface StallDistribution {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface SnapshotBenchResult {
  readonly round: number;
  readonly entries: number;
  readonly storeMiB: number;
  readonly snapshotMs: number;
  readonly bootstrapMs: number;
  /** While the snapshot runs, and over as long without one. */
  readonly stalls: StallDistribution;
  readonly baselineStalls: StallDistribution;
  /**
   * Largest gap without the loop's own commit in it (SQLite's checkpoints make some commits slow
   * with or without a snapshot): the time the snapshot's work held the main thread.
   */
  readonly maxForeignStallMs: number;
  readonly baselineMaxForeignStallMs: number;
  /** 99th percentile of the apply loop's commit time: a checkpoint inside a commit shows here, preemption by other processes less than in the largest gap. */
  readonly p99CommitMs: number;
  readonly baselineP99CommitMs: number;
  readonly commitsDuringSnapshot: number;
  readonly commitsWithout: number;
}

export async function runSnapshotBench(): Promise<SnapshotBenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "reprise-bench-snapshot-"));
  const logger = pino({ level: "warn" });
  const store = new PartitionStore(join(dir, "p0.sqlite"));
  const bifrost = await createLocalBifrost(join(dir, "bifrost"), new InMemoryMetadataStore(), { bifrost: { logger } });
  try {
    let lsn = 0;
    for (let i = 0; i < ENTRIES; i += 1_000) {
      store.write((tx) => {
        for (let k = i; k < i + 1_000; k++) tx.setStateValue("Counter", `key-${k}`, "value", VALUE);
        tx.setAppliedLsn(Lsn(++lsn));
      });
    }
    // A bootstrap refuses a snapshot whose LSN the log does not have: the log gets records up to it.
    let logged = 0;
    const logUpTo = async (to: Lsn) => {
      if (to < logged) return;
      await bifrost.append(LOG, Array.from({ length: to - logged + 1 }, () => Buffer.from("r")));
      logged = to + 1;
    };
    const applyOne = () =>
      store.write((tx) => {
        tx.setStateValue("Counter", `key-${lsn % ENTRIES}`, "value", Buffer.from(String(lsn)));
        tx.setAppliedLsn(Lsn(++lsn));
      });

    const repository = new SnapshotRepository(new FileObjectStore(join(dir, "repo")), logger);
    const taker = new SnapshotTaker({ repository, workDir: join(dir, "work"), clusterName: "bench", nodeName: "n1", numRetained: 2, logger });
    const bootstrap = new SnapshotBootstrap({ repository, bifrost, clusterName: "bench", workDir: join(dir, "downloads"), logger });
    const results: SnapshotBenchResult[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const started = performance.now();
      const snapshot = taker.take(P, store.path);
      let done = false;
      void snapshot.finally(() => (done = true));
      const during = await applyLoop(applyOne, () => done);
      const manifest = await snapshot;
      const snapshotMs = performance.now() - started;
      const baselineStarted = performance.now();
      const baseline = await applyLoop(applyOne, () => performance.now() - baselineStarted >= snapshotMs);

      await logUpTo(manifest.appliedLsn);
      const target = new PartitionStore(join(dir, `fresh-${round}.sqlite`));
      const bootStarted = performance.now();
      const restored = await bootstrap.restore({ partitionId: P, logId: LOG, store: target, required: LSN_INVALID, signal: new AbortController().signal });
      const bootstrapMs = performance.now() - bootStarted;
      const rows = target.read((tx) => tx.listState().length);
      target.close();
      if (restored !== manifest.appliedLsn || rows !== ENTRIES) throw new Error(`bootstrap installed LSN ${restored} with ${rows} entries`);
      results.push({
        round,
        entries: ENTRIES,
        storeMiB: manifest.sizeBytes / (1 << 20),
        snapshotMs,
        bootstrapMs,
        stalls: during.stalls,
        baselineStalls: baseline.stalls,
        maxForeignStallMs: during.maxForeignMs,
        baselineMaxForeignStallMs: baseline.maxForeignMs,
        p99CommitMs: during.p99CommitMs,
        baselineP99CommitMs: baseline.p99CommitMs,
        commitsDuringSnapshot: during.commits,
        commitsWithout: baseline.commits,
      });
    }
    return results;
  } finally {
    store.close();
    await bifrost.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Commits one small apply transaction per turn of the event loop until `stop()`: the gaps between
 * two commits, the largest with the commit's own time taken out, and the commits' own times.
 */
async function applyLoop(applyOne: () => void, stop: () => boolean): Promise<{ stalls: StallDistribution; maxForeignMs: number; p99CommitMs: number; commits: number }> {
  let last = performance.now();
  let maxForeignMs = 0;
  const gaps: number[] = [];
  const commitTimes: number[] = [];
  while (!stop()) {
    const before = performance.now();
    applyOne();
    const commitMs = performance.now() - before;
    commitTimes.push(commitMs);
    await tick();
    const now = performance.now();
    gaps.push(now - last);
    maxForeignMs = Math.max(maxForeignMs, now - last - commitMs);
    last = now;
  }
  gaps.sort((a, b) => a - b);
  commitTimes.sort((a, b) => a - b);
  return { stalls: { p50: percentile(gaps, 0.5), p99: percentile(gaps, 0.99), max: gaps.at(-1) ?? 0 }, maxForeignMs, p99CommitMs: percentile(commitTimes, 0.99), commits: commitTimes.length };
}

/** The value at fraction `q` of ascending `sorted`; 0 for none. */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

const formatStalls = (d: StallDistribution) => `p50 ${d.p50.toFixed(2)} / p99 ${d.p99.toFixed(2)} / max ${d.max.toFixed(1)} ms`;

export function formatSnapshotBench(r: SnapshotBenchResult): string {
  return (
    `round ${r.round}: ${r.entries} state entries (${r.storeMiB.toFixed(1)} MiB store): snapshot ${r.snapshotMs.toFixed(0)} ms, bootstrap ${r.bootstrapMs.toFixed(0)} ms; ` +
    `apply gaps ${formatStalls(r.stalls)} during the snapshot (${r.commitsDuringSnapshot} commits), ${formatStalls(r.baselineStalls)} without one (${r.commitsWithout} commits); ` +
    `largest outside the apply's own commits ${r.maxForeignStallMs.toFixed(1)} ms during, ${r.baselineMaxForeignStallMs.toFixed(1)} ms without; ` +
    `p99 commit ${r.p99CommitMs.toFixed(2)} ms during, ${r.baselineP99CommitMs.toFixed(2)} ms without`
  );
}
