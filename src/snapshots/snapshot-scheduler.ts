import type { Logger } from "../common/logger.ts";
import { errorMessage } from "../types/errors.ts";
import { Lsn, LSN_INVALID, type PartitionId } from "../types/ids.ts";
import { repositoryBackoffMs } from "./backoff.ts";

/** What the scheduler sees of a partition replica on this node. */
export interface SnapshotCandidate {
  readonly partitionId: PartitionId;
  readonly appliedLsn: Lsn;
  /** Only leaders take scheduled snapshots: one replica per partition does the work. */
  readonly isLeader: boolean;
}

export interface SnapshotSchedule {
  /** A snapshot once this many records were applied since the last one; 0: never by count. */
  readonly intervalNumRecords: number;
  /** A snapshot once this long passed since the last one, if anything was applied; 0: never by time. */
  readonly intervalMs: number;
}

export interface SnapshotSchedulerOptions {
  readonly schedule: SnapshotSchedule;
  readonly partitions: () => Iterable<SnapshotCandidate>;
  /** Takes and uploads one snapshot; resolves with the applied LSN it covers. */
  readonly take: (partition: PartitionId) => Promise<Lsn>;
  /** The applied LSN of the newest snapshot in the repository (where counting starts after a restart). */
  readonly archivedLsn: (partition: PartitionId) => Promise<Lsn>;
  readonly logger: Logger;
  /** How often due partitions are looked for. */
  readonly checkEveryMs?: number;
}

interface PartitionProgress {
  /** Applied LSN of the last snapshot; null until learnt from the repository. */
  lastLsn: Lsn | null;
  lastAtMs: number;
  failures: number;
  retryAtMs: number;
}

const DEFAULT_CHECK_MS = 1_000;

/**
 * Takes a snapshot of each partition led here every N records or T milliseconds. Snapshots run one
 * at a time, off the apply path (the export runs on a worker thread); a failed one, e.g. an
 * unreachable repository, is retried with backoff while the partition keeps applying.
 */
export class SnapshotScheduler {
  private readonly progress = new Map<PartitionId, PartitionProgress>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: SnapshotSchedulerOptions) {}

  start(): void {
    const { intervalNumRecords, intervalMs } = this.o.schedule;
    if (intervalNumRecords === 0 && intervalMs === 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.round().finally(() => (this.running = null));
    }, this.o.checkEveryMs ?? DEFAULT_CHECK_MS);
    this.timer.unref();
  }

  /** A snapshot taken outside the schedule (on demand) counts as the partition's last one. */
  noteSnapshot(partition: PartitionId, lsn: Lsn): void {
    const p = this.progressOf(partition);
    if (p.lastLsn === null || lsn > p.lastLsn) p.lastLsn = lsn;
    p.lastAtMs = Date.now();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.running;
  }

  private async round(): Promise<void> {
    for (const candidate of [...this.o.partitions()]) {
      if (this.stopped) return;
      if (!candidate.isLeader) continue;
      const p = this.progressOf(candidate.partitionId);
      const now = Date.now();
      if (now < p.retryAtMs) continue;
      try {
        p.lastLsn ??= await this.o.archivedLsn(candidate.partitionId);
        if (!this.due(p, candidate.appliedLsn, now)) continue;
        this.noteSnapshot(candidate.partitionId, await this.o.take(candidate.partitionId));
        p.failures = 0;
      } catch (e) {
        const delayMs = repositoryBackoffMs(p.failures++);
        p.retryAtMs = Date.now() + delayMs;
        this.o.logger.warn({ partition: candidate.partitionId, err: errorMessage(e), retryInMs: delayMs }, "scheduled snapshot failed; will retry");
      }
    }
  }

  private due(p: PartitionProgress, applied: Lsn, now: number): boolean {
    const last = p.lastLsn ?? LSN_INVALID;
    if (applied <= last) return false;
    const { intervalNumRecords, intervalMs } = this.o.schedule;
    return (intervalNumRecords > 0 && applied - last >= intervalNumRecords) || (intervalMs > 0 && now - p.lastAtMs >= intervalMs);
  }

  private progressOf(partition: PartitionId): PartitionProgress {
    let p = this.progress.get(partition);
    if (p === undefined) {
      p = { lastLsn: null, lastAtMs: Date.now(), failures: 0, retryAtMs: 0 };
      this.progress.set(partition, p);
    }
    return p;
  }
}
