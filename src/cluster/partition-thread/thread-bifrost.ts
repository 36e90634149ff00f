import type { Bifrost, LogEntry, LogTail } from "../../bifrost/bifrost.ts";
import type { ThreadChannel } from "../../common/thread-channel.ts";
import { UnavailableError } from "../../types/errors.ts";
import type { LogId, Lsn } from "../../types/ids.ts";
import type { MainThreadCalls, PartitionThreadCalls } from "./calls.ts";

/** How the main thread reaches the partition thread whose loglets hold a log. */
export type ChannelOfLog = (logId: LogId) => ThreadChannel<MainThreadCalls, PartitionThreadCalls> | undefined;

/**
 * The node's logs as the main thread sees them once partition threads own them: each log's
 * loglets have one writer, the thread of its partition, so every operation is a call there
 * (snapshots' trims, verification's reads, restatectl's tails).
 */
export class ThreadBifrost implements Bifrost {
  constructor(private readonly channelOf: ChannelOfLog) {}

  async append(logId: LogId, payloads: readonly Uint8Array[]): Promise<Lsn> {
    return this.on(logId).call("logAppend", logId, payloads);
  }

  async read(logId: LogId, from: Lsn, limit: number): Promise<LogEntry[]> {
    return this.on(logId).call("logRead", logId, from, limit);
  }

  async waitForTail(logId: LogId, lsn: Lsn, signal?: AbortSignal): Promise<Lsn> {
    const waiting = this.on(logId).call("logWaitForTail", logId, lsn);
    if (signal === undefined) return waiting;
    // The wait goes on in the thread until the tail passes `lsn`; only this caller stops waiting.
    return new Promise((resolve, reject) => {
      const aborted = () => reject(signal.reason);
      if (signal.aborted) return aborted();
      signal.addEventListener("abort", aborted, { once: true });
      waiting.then(resolve, reject).finally(() => signal.removeEventListener("abort", aborted));
    });
  }

  async findTail(logId: LogId): Promise<Lsn> {
    return this.on(logId).call("logFindTail", logId);
  }

  async describeTail(logId: LogId): Promise<LogTail> {
    return this.on(logId).call("logDescribeTail", logId);
  }

  async trim(logId: LogId, upTo: Lsn): Promise<void> {
    return this.on(logId).call("logTrim", logId, upTo);
  }

  async getTrimPoint(logId: LogId): Promise<Lsn> {
    return this.on(logId).call("logGetTrimPoint", logId);
  }

  /** The threads close their own logs. */
  async close(): Promise<void> {}

  private on(logId: LogId): ThreadChannel<MainThreadCalls, PartitionThreadCalls> {
    const channel = this.channelOf(logId);
    if (channel === undefined) throw new UnavailableError(`log ${logId} belongs to no running partition thread`, "log_not_served");
    return channel;
  }
}
