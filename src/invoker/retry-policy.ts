export interface RetryPolicy {
  readonly initialIntervalMs: number;
  readonly factor: number;
  readonly maxIntervalMs: number;
  /** Attempts without progress before the invocation fails terminally; 0 retries forever. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialIntervalMs: 50, factor: 2, maxIntervalMs: 10_000, maxAttempts: 0 };

/** Delay before the `failures`-th retry: exponential from the initial interval, capped. */
export function retryDelayMs(policy: RetryPolicy, failures: number): number {
  return Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.factor ** Math.max(0, failures - 1));
}
