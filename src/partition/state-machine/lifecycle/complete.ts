import { needsKeyLock, type InvocationResult, type InvocationStatus } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { cleanupTimerKey, journalCleanupTimerKey, sleepTimerKeyPrefix } from "../timer-keys.ts";
import { releaseKeyLock } from "./key-lock.ts";
import { dropJournal } from "./retention.ts";

/** The SDK ended the attempt: the invocation completes with the output it journaled. */
export const end: CommandHandler<"end"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  // From an attempt that is no longer current (its journal moved on, or it was killed meanwhile).
  if (!inv || inv.status !== "invoked" || inv.commandCount !== c.commandCount) return;
  complete(ctx, inv, inv.result ?? { kind: "failure", code: 500, message: "invocation ended without output" });
};

/**
 * Marks the invocation completed: live attempts are aborted, its key goes to the next in line, and
 * the status is kept for its retention time, the journal for its own when that is shorter (none:
 * it goes now). Sleeps still pending go: their timers would otherwise outlive a purge and wake
 * the id's next invocation (an idempotency or workflow key names the same id again).
 */
export function complete(ctx: ApplyContext, inv: InvocationStatus, result: InvocationResult): void {
  const { awaiting: _dropped, ...rest } = inv;
  const completed: InvocationStatus = { ...rest, status: "completed", result, completedAt: ctx.ts, modifiedAt: ctx.ts };
  ctx.tx.putInvocation(completed);
  ctx.emit({ t: "abort", id: inv.id });
  ctx.tx.deleteTimersWithKeyPrefix(sleepTimerKeyPrefix(inv.id));
  ctx.putTimer({ key: cleanupTimerKey(inv.id), fireAt: ctx.ts + inv.completionRetentionMs, kind: "cleanup", invocationId: inv.id });
  const journalMs = inv.journalRetentionMs;
  if (journalMs !== undefined && journalMs < inv.completionRetentionMs) {
    if (journalMs <= 0) dropJournal(ctx, completed);
    else ctx.putTimer({ key: journalCleanupTimerKey(inv.id), fireAt: ctx.ts + journalMs, kind: "journal-cleanup", invocationId: inv.id });
  }
  if (needsKeyLock(inv.target)) releaseKeyLock(ctx, inv.target.service, inv.target.key ?? "", inv.id);
}
