import type { InvocationId } from "../../types/ids.ts";

// Timer keys are derived from what the timer is for, so re-applying a record that sets one
// replaces it instead of adding a second, and whoever cancels it can name it.

export function delayedInvokeTimerKey(id: InvocationId): string {
  return `invoke:${id}`;
}

export function cleanupTimerKey(id: InvocationId): string {
  return `cleanup:${id}`;
}

export function journalCleanupTimerKey(id: InvocationId): string {
  return `journal-cleanup:${id}`;
}

export function sleepTimerKey(id: InvocationId, completionId: number): string {
  return `${sleepTimerKeyPrefix(id)}${completionId}`;
}

/** What the keys of all of an invocation's sleep timers start with. */
export function sleepTimerKeyPrefix(id: InvocationId): string {
  return `sleep:${id}:`;
}
