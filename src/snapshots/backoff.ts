/** Delay before retry `attempt` (0-based) of a snapshot repository operation: doubling from half a second, at most 30 s. */
export function repositoryBackoffMs(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
}
