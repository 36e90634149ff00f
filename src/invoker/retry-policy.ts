import type { RetryPolicyOverrides } from "../schema/schema.ts";

/** How the invoker retries a failing invocation: exponential backoff, and what to do once attempts are used up. */
export type RetryPolicy = Required<RetryPolicyOverrides>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = { initialIntervalMs: 50, factor: 2, maxIntervalMs: 10_000, maxAttempts: 0, onMaxAttempts: "kill" };

/** The node's policy with a service's manifest settings over it, and a handler's over those (Restate's order). */
export function effectiveRetryPolicy(node: RetryPolicy, service: RetryPolicyOverrides | undefined, handler: RetryPolicyOverrides | undefined): RetryPolicy {
  return { ...node, ...defined(service), ...defined(handler) };
}

function defined(o: RetryPolicyOverrides | undefined): RetryPolicyOverrides {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined));
}

/** Delay before the `failures`-th retry: exponential from the initial interval, capped. */
export function retryDelayMs(policy: RetryPolicy, failures: number): number {
  return Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.factor ** Math.max(0, failures - 1));
}
