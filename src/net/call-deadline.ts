import { RpcTimeoutError } from "./errors.ts";

/**
 * A call's timeout and its caller's abort signal: `giveUp` runs once, with an `RpcTimeoutError`
 * after `timeoutMs` or the signal's reason, whichever comes first. The returned function stops
 * both; the call runs it when it settles otherwise (answered, or failed by its transport).
 */
export function watchDeadline(address: string, path: string, timeoutMs: number, signal: AbortSignal | undefined, giveUp: (error: Error) => void): () => void {
  const stop = (): void => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  };
  const onAbort = (): void => {
    stop();
    giveUp(signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
  };
  const timer = setTimeout(() => {
    stop();
    giveUp(new RpcTimeoutError(address, path, timeoutMs));
  }, timeoutMs);
  signal?.addEventListener("abort", onAbort, { once: true });
  return stop;
}
