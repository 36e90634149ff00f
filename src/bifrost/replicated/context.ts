import type { Logger } from "../../common/logger.ts";
import { RepriseError, UnavailableError } from "../../types/errors.ts";
import type { PlainNodeId } from "../../types/ids.ts";
import type { LogServers } from "./log-servers.ts";
import type { ReplicatedLogletParams } from "../../net/loglet-params.ts";

export interface ReplicatedTimeouts {
  /** One Store/Seal/Info/Digest/Trim call. */
  readonly rpcMs: number;
  /** One GetRecords call. */
  readonly readMs: number;
  /** Longest pause between retries of a seal, repair or batch. */
  readonly maxBackoffMs: number;
  /** How long a batch waits for a write quorum before the sequencer also stores it on one more server. */
  readonly hedgeMs: number;
}

export const DEFAULT_TIMEOUTS: ReplicatedTimeouts = { rpcMs: 2_000, readMs: 5_000, maxBackoffMs: 500, hedgeMs: 500 };

/** What the parts of one replicated loglet (sequencer, reader, sealer) share. */
export interface LogletContext {
  readonly id: string;
  readonly params: ReplicatedLogletParams;
  readonly servers: LogServers;
  readonly log: Logger;
  readonly timeouts: ReplicatedTimeouts;
  /** Aborted when the loglet closes: ends every retry loop. */
  readonly signal: AbortSignal;
}

/**
 * Notes a failed call to `node`: retryable failures mark the server unhealthy so writers route
 * around it; all are logged. Returns the error for the caller to keep as a cause.
 */
export function noteFailure(ctx: LogletContext, node: PlainNodeId, op: string, e: unknown): unknown {
  if (!(e instanceof RepriseError) || e.retryable) ctx.servers.markFailed(node);
  ctx.log.debug({ node, op, err: e instanceof Error ? e.message : String(e) }, "log server call failed");
  return e;
}

export function backoffMs(ctx: LogletContext, attempt: number): number {
  return Math.min(20 * 2 ** Math.min(attempt, 8), ctx.timeouts.maxBackoffMs);
}

export class LogletClosedError extends UnavailableError {
  constructor(id: string) {
    super(`replicated loglet ${id} is closed`, "loglet_closed");
  }
}
