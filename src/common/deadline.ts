/**
 * `work`, or `timeout()` as the error once `ms` passed. `work` itself runs on: callers use this for
 * steps that are safe to abandon (idempotent, or whose outcome is settled elsewhere).
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, timeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeout()), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
