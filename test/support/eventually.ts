import { AssertionError } from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";

const POLL_MS = 20;

/**
 * Polls `check` until it returns true; fails after `timeoutMs` naming `what`. An assertion inside
 * `check` that does not hold yet counts as "not yet" (and is the failure's cause at the deadline,
 * so its diff is not lost); any other error fails at once.
 */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let failed: AssertionError | undefined;
    try {
      if (await check()) return;
    } catch (e) {
      if (!(e instanceof AssertionError)) throw e;
      failed = e;
    }
    if (Date.now() >= deadline) {
      const reason = failed === undefined ? "" : `: ${failed.message}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${reason}`, failed === undefined ? {} : { cause: failed });
    }
    await sleep(POLL_MS);
  }
}
