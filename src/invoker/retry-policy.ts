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

/** A failed attempt as the SDK reported it: its error, and what it asked for (V7 `ErrorMessage.behavior`, `next_retry_delay`). */
export interface AttemptFailureReport {
  readonly message: string;
  readonly retryAfterMs?: number;
  /** The command the SDK says failed (ErrorMessage related_command_index/name). */
  readonly relatedCommand?: { readonly index?: number; readonly name?: string };
  readonly requested?: { readonly behavior: "pause" | "fail"; readonly code: number; readonly message: string };
}

export type RetryDecision =
  | { readonly t: "retry"; readonly delayMs: number }
  | { readonly t: "pause" }
  | { readonly t: "fail"; readonly code: number; readonly message: string };

/**
 * What follows the `failures`-th failed attempt: what the SDK asked for first (pause, or fail with
 * its error), else a retry after the backoff (or the SDK's delay), until the attempts are used up
 * and the policy's on-max-attempts pauses or fails the invocation.
 */
export function decideRetry(policy: RetryPolicy, failures: number, failure: AttemptFailureReport): RetryDecision {
  const { requested } = failure;
  if (requested) return requested.behavior === "pause" ? { t: "pause" } : { t: "fail", code: requested.code, message: requested.message };
  if (policy.maxAttempts > 0 && failures >= policy.maxAttempts) {
    return policy.onMaxAttempts === "pause" ? { t: "pause" } : { t: "fail", code: 500, message: `gave up after ${failures} attempts: ${failure.message}` };
  }
  return { t: "retry", delayMs: failure.retryAfterMs ?? retryDelayMs(policy, failures) };
}
