import { RepriseError } from "../types/errors.ts";
import type { Brand } from "../types/ids.ts";

/** Position inside one loglet (segment). The first record of every loglet has offset 1. */
export type LogletOffset = Brand<number, "LogletOffset">;
export const LogletOffset = (n: number): LogletOffset => n as LogletOffset;
export const LOGLET_OFFSET_OLDEST = LogletOffset(1);

export interface LogletRecord {
  readonly offset: LogletOffset;
  readonly payload: Uint8Array;
}

/** What a reader sees at an offset: a record, or a gap because the prefix was trimmed. */
export type LogletEntry = LogletRecord | { readonly offset: LogletOffset; readonly trimGapTo: LogletOffset };

export interface LogletTail {
  /** The offset the next append will get (so `nextOffset - 1` is the last committed record). */
  readonly nextOffset: LogletOffset;
  readonly sealed: boolean;
}

/**
 * One segment of a log. A single-node implementation keeps it in local files; the replicated one
 * spreads it over log servers. Callers never learn which.
 */
export interface Loglet {
  readonly id: string;
  /** Appends in order; resolves with the offset of the last record once all are durable. */
  append(payloads: readonly Uint8Array[]): Promise<LogletOffset>;
  /** Up to `limit` entries from `from` (inclusive) up to the committed tail; may return fewer. */
  read(from: LogletOffset, limit: number): Promise<LogletEntry[]>;
  /** Resolves once the committed tail passes `offset` (nextOffset > offset) or the loglet is sealed. */
  waitForTail(offset: LogletOffset, signal?: AbortSignal): Promise<LogletTail>;
  /**
   * What `waitForTail(offset)` would answer at once, if this loglet knows it without waiting or
   * asking anyone (its tail is past `offset`, or it is sealed); else null. A reader that keeps up
   * asks this before every wait, so it must cost no promise, signal or message.
   */
  tailPast(offset: LogletOffset): LogletTail | null;
  findTail(): Promise<LogletTail>;
  /** After seal resolves, no append succeeds and the tail is fixed. Idempotent. */
  seal(): Promise<LogletTail>;
  /** Drops records up to and including `upTo`. Idempotent; trimming below the trim point is a no-op. */
  trim(upTo: LogletOffset): Promise<void>;
  /** Highest trimmed offset, 0 if nothing was trimmed. */
  getTrimPoint(): Promise<LogletOffset>;
  /**
   * The log's chain recorded this sealed loglet's end (the next segment's base): records below
   * `tail` are the log's. A loglet whose sealers may disagree on the tail reads past its committed
   * tail only once told this; one with a single sealer may ignore it.
   */
  settleTail?(tail: LogletOffset): void;
  close(): Promise<void>;
}

export class SealedError extends RepriseError {
  constructor(logletId: string) {
    super("loglet_sealed", `loglet ${logletId} is sealed; append to the log's new tail segment`, true, 503);
  }
}
