import type { Bifrost } from "../bifrost/bifrost.ts";
import type { Logger } from "../common/logger.ts";
import { errorMessage } from "../types/errors.ts";
import { Lsn, type LogId, type PartitionId } from "../types/ids.ts";

/** A partition replica on this node, as the trimmer sees it. */
export interface TrimCandidate {
  readonly partitionId: PartitionId;
  readonly logId: LogId;
  readonly appliedLsn: Lsn;
  /** Only a partition's leader trims its log. */
  readonly isLeader: boolean;
}

export interface LogTrimmerOptions {
  readonly bifrost: Bifrost;
  readonly partitions: () => Iterable<TrimCandidate>;
  /**
   * The highest LSN the partition's log may lose now: the archived LSN when there is a snapshot
   * repository, the persisted LSN on a single node without one.
   */
  readonly safeTrimPoint: (partition: PartitionId) => Promise<Lsn>;
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** Every `intervalMs`, trims the log of each partition led here up to its safe trim point. */
export class LogTrimmer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly o: LogTrimmerOptions) {}

  start(): void {
    if (this.o.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.running ??= this.trimAll().finally(() => (this.running = null));
    }, this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    await this.running;
  }

  /** One round over every partition led here; a failure on one is logged and retried next round. */
  async trimAll(): Promise<void> {
    for (const p of [...this.o.partitions()]) {
      if (!p.isLeader) continue;
      try {
        await this.trim(p);
      } catch (e) {
        this.o.logger.warn({ partition: p.partitionId, logId: p.logId, err: errorMessage(e) }, "log trim failed; will retry");
      }
    }
  }

  private async trim(p: TrimCandidate): Promise<void> {
    // Never past what this replica applied, whatever the repository says.
    const safe = Lsn(Math.min(await this.o.safeTrimPoint(p.partitionId), p.appliedLsn));
    const current = await this.o.bifrost.getTrimPoint(p.logId);
    if (safe <= current) return;
    await this.o.bifrost.trim(p.logId, safe);
    this.o.logger.info({ partition: p.partitionId, logId: p.logId, from: current, trimPoint: safe }, "log trimmed");
  }
}
