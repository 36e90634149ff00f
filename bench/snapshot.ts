/**
 * Snapshot benchmark: a partition store with 100,000 state entries is snapshotted into a file://
 * repository while an apply loop keeps committing (the largest gap between two of its commits is
 * the apply stall), then installed into an empty store as a new replica would bootstrap.
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
const VALUE = Buffer.alloc(64, 7);
const P = PartitionId(0);
const LOG = LogId(0);

export interface SnapshotBenchResult {
  readonly entries: number;
  readonly storeMiB: number;
  readonly snapshotMs: number;
  readonly bootstrapMs: number;
  /** Largest gap between two commits of the apply loop: while the snapshot runs, and over as long without one. */
  readonly maxStallMs: number;
  readonly baselineMaxStallMs: number;
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
    // The apply loop's commits need LSNs the log has, as a bootstrap checks the snapshot against the tail.
    await bifrost.append(LOG, Array.from({ length: 20_000 }, () => Buffer.from("r")));
    const applyOne = () =>
      store.write((tx) => {
        tx.setStateValue("Counter", `key-${lsn % ENTRIES}`, "value", Buffer.from(String(lsn)));
        tx.setAppliedLsn(Lsn(++lsn));
      });

    const repository = new SnapshotRepository(new FileObjectStore(join(dir, "repo")), logger);
    const taker = new SnapshotTaker({ repository, workDir: join(dir, "work"), clusterName: "bench", nodeName: "n1", numRetained: 2, logger });
    const started = performance.now();
    const snapshot = taker.take(P, store.path);
    let done = false;
    void snapshot.finally(() => (done = true));
    const during = await applyLoop(applyOne, () => done);
    const manifest = await snapshot;
    const snapshotMs = performance.now() - started;
    const baselineStarted = performance.now();
    const baseline = await applyLoop(applyOne, () => performance.now() - baselineStarted >= snapshotMs);

    const target = new PartitionStore(join(dir, "fresh.sqlite"));
    const bootstrap = new SnapshotBootstrap({ repository, bifrost, clusterName: "bench", workDir: join(dir, "downloads"), logger });
    const bootStarted = performance.now();
    const restored = await bootstrap.restore({ partitionId: P, logId: LOG, store: target, required: LSN_INVALID, signal: new AbortController().signal });
    const bootstrapMs = performance.now() - bootStarted;
    const rows = target.read((tx) => tx.listState().length);
    target.close();
    if (restored !== manifest.appliedLsn || rows !== ENTRIES) throw new Error(`bootstrap installed LSN ${restored} with ${rows} entries`);
    return [
      {
        entries: ENTRIES,
        storeMiB: manifest.sizeBytes / (1 << 20),
        snapshotMs,
        bootstrapMs,
        maxStallMs: during.maxGapMs,
        baselineMaxStallMs: baseline.maxGapMs,
        maxForeignStallMs: during.maxForeignMs,
        baselineMaxForeignStallMs: baseline.maxForeignMs,
        p99CommitMs: during.p99CommitMs,
        baselineP99CommitMs: baseline.p99CommitMs,
        commitsDuringSnapshot: during.commits,
      },
    ];
  } finally {
    store.close();
    await bifrost.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Commits one small apply transaction per turn of the event loop until `stop()`: the largest gap
 * between two commits, and the largest with the commit's own time taken out.
 */
async function applyLoop(applyOne: () => void, stop: () => boolean): Promise<{ maxGapMs: number; maxForeignMs: number; p99CommitMs: number; commits: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  let maxForeignMs = 0;
  const commitTimes: number[] = [];
  let commits = 0;
  while (!stop()) {
    const before = performance.now();
    applyOne();
    const commitMs = performance.now() - before;
    commitTimes.push(commitMs);
    commits++;
    await tick();
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    maxForeignMs = Math.max(maxForeignMs, now - last - commitMs);
    last = now;
  }
  commitTimes.sort((a, b) => a - b);
  return { maxGapMs, maxForeignMs, p99CommitMs: commitTimes[Math.floor(commitTimes.length * 0.99)] ?? 0, commits };
}

export function formatSnapshotBench(r: SnapshotBenchResult): string {
  return (
    `${r.entries} state entries (${r.storeMiB.toFixed(1)} MiB store): snapshot ${r.snapshotMs.toFixed(0)} ms, bootstrap ${r.bootstrapMs.toFixed(0)} ms; ` +
    `largest apply stall ${r.maxStallMs.toFixed(1)} ms during the snapshot (${r.commitsDuringSnapshot} commits), ${r.baselineMaxStallMs.toFixed(1)} ms without one; ` +
    `outside the apply's own commits ${r.maxForeignStallMs.toFixed(1)} ms during, ${r.baselineMaxForeignStallMs.toFixed(1)} ms without; ` +
    `p99 commit ${r.p99CommitMs.toFixed(2)} ms during, ${r.baselineP99CommitMs.toFixed(2)} ms without`
  );
}
