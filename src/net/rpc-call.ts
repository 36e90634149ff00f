/** What a call and its answer are on the wire, shared by the server, the channels and the call stream. */

export const CONTENT_TYPE_PROTO = "application/proto";
export const CONTENT_TYPE_ERROR = "application/x-reprise-error+proto";
/** Header with the caller's timeout, so long-polling handlers answer before the caller gives up. */
export const TIMEOUT_HEADER = "reprise-timeout-ms";
export const DEFAULT_MAX_MESSAGE_BYTES = 64 << 20;
/** A handler's view of the caller's timeout when the caller named none. */
export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

export interface CallContext {
  /** Aborted when the caller cancels or disconnects. */
  readonly signal: AbortSignal;
  /** Milliseconds the caller waits in total. */
  readonly timeoutMs: number;
}

/** How long before the caller's timeout a long-polling handler answers, so the answer still arrives. */
const LONG_POLL_MARGIN_MS = 250;

/** How long a long-polling handler may wait: what the caller asked for, ending early enough for the answer to reach it. */
export function longPollWaitMs(requestedMs: number, ctx: CallContext): number {
  return Math.max(0, Math.min(requestedMs, ctx.timeoutMs - LONG_POLL_MARGIN_MS));
}

/** A call's answer as the wire carries it. */
export interface RpcAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: Uint8Array;
}

/**
 * A handler's view of one call, cancelled when the caller gives up. The abort controller is made
 * only for a handler that reads its signal (long polls): most calls never do, and building one
 * per call cost more than their own handling (an abort builds a DOMException, too).
 */
export class CancellableCall implements CallContext {
  private abort: AbortController | null = null;
  private cancelled = false;

  constructor(readonly timeoutMs: number) {}

  get signal(): AbortSignal {
    if (this.abort === null) {
      this.abort = new AbortController();
      if (this.cancelled) this.abort.abort();
    }
    return this.abort.signal;
  }

  cancel(): void {
    this.cancelled = true;
    this.abort?.abort();
  }
}
