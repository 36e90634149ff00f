import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decideRetry, DEFAULT_RETRY_POLICY, effectiveRetryPolicy, type RetryPolicy } from "../../src/invoker/retry-policy.ts";

const node: RetryPolicy = { initialIntervalMs: 100, factor: 2, maxIntervalMs: 1_000, maxAttempts: 0, onMaxAttempts: "kill" };

describe("retry policy", () => {
  it("takes each setting from the handler, else the service, else the node", () => {
    const policy = effectiveRetryPolicy(node, { maxAttempts: 5, onMaxAttempts: "pause", factor: 3 }, { maxAttempts: 2, initialIntervalMs: 10 });
    assert.deepEqual(policy, { initialIntervalMs: 10, factor: 3, maxIntervalMs: 1_000, maxAttempts: 2, onMaxAttempts: "pause" });
    assert.deepEqual(effectiveRetryPolicy(node, undefined, undefined), node);
  });

  it("backs off exponentially up to the cap, or after the SDK's delay", () => {
    assert.deepEqual([1, 2, 3, 5].map((n) => decideRetry(node, n, { message: "x" })), [
      { t: "retry", delayMs: 100 },
      { t: "retry", delayMs: 200 },
      { t: "retry", delayMs: 400 },
      { t: "retry", delayMs: 1_000 },
    ]);
    assert.deepEqual(decideRetry(node, 1, { message: "x", retryAfterMs: 7 }), { t: "retry", delayMs: 7 });
  });

  it("once the attempts are used up, pauses or fails as on-max-attempts says", () => {
    const limited = { ...node, maxAttempts: 2 };
    assert.equal(decideRetry(limited, 1, { message: "boom" }).t, "retry");
    assert.deepEqual(decideRetry({ ...limited, onMaxAttempts: "pause" }, 2, { message: "boom" }), { t: "pause" });
    assert.deepEqual(decideRetry(limited, 2, { message: "boom" }), { t: "fail", code: 500, message: "gave up after 2 attempts: boom" });
    assert.equal(decideRetry(DEFAULT_RETRY_POLICY, 10_000, { message: "boom" }).t, "retry", "the default retries forever");
  });

  it("honours what the SDK asked for before the policy", () => {
    const requestedPause = { message: "x", requested: { behavior: "pause" as const, code: 500, message: "stop" } };
    assert.deepEqual(decideRetry(node, 1, requestedPause), { t: "pause" });
    const requestedFail = { message: "[418] teapot", requested: { behavior: "fail" as const, code: 418, message: "teapot" } };
    assert.deepEqual(decideRetry({ ...node, onMaxAttempts: "pause" }, 1, requestedFail), { t: "fail", code: 418, message: "teapot" });
  });
});
