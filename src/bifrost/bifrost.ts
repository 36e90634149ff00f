import type { LogId, Lsn, SegmentIndex } from "../types/ids.ts";

export interface LogRecord {
  readonly lsn: Lsn;
  readonly payload: Uint8Array;
}

/** A read result: a record, or a gap up to `trimGapTo` (inclusive) because the prefix was trimmed. */
export type LogEntry = LogRecord | { readonly lsn: Lsn; readonly trimGapTo: Lsn };

/** Where a log ends: the next LSN, in which segment, and whether that segment is sealed already. */
export interface LogTail {
  readonly segmentIndex: SegmentIndex;
  /** Next LSN to be written. */
  readonly tail: Lsn;
  /** True between sealing the tail segment and extending the chain with a new one. */
  readonly sealed: boolean;
}

export function isTrimGap(e: LogEntry): e is Extract<LogEntry, { trimGapTo: Lsn }> {
  return "trimGapTo" in e;
}

/**
 * The log facade the rest of the system uses. A log is a chain of loglet segments; LSNs are dense
 * and continue across segments. Appends are durable when they resolve.
 */
export interface Bifrost {
  append(logId: LogId, payloads: readonly Uint8Array[]): Promise<Lsn>;
  read(logId: LogId, from: Lsn, limit: number): Promise<LogEntry[]>;
  /** Resolves with the tail (next LSN to be written) once it is greater than `lsn`. */
  waitForTail(logId: LogId, lsn: Lsn, signal?: AbortSignal): Promise<Lsn>;
  /** Next LSN to be written. */
  findTail(logId: LogId): Promise<Lsn>;
  /** The tail with its segment, e.g. for `restatectl logs find-tail`. */
  describeTail(logId: LogId): Promise<LogTail>;
  /** Drops records up to and including `upTo`. */
  trim(logId: LogId, upTo: Lsn): Promise<void>;
  getTrimPoint(logId: LogId): Promise<Lsn>;
  close(): Promise<void>;
}
