import { needsKeyLock, type InvocationResult, type InvocationStatus } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { cleanupTimerKey } from "../timer-keys.ts";
import { releaseKeyLock } from "./key-lock.ts";

/** The SDK ended the attempt: the invocation completes with the output it journaled. */
export const end: CommandHandler<"end"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  // From an attempt that is no longer current (its journal moved on, or it was killed meanwhile).
  if (!inv || inv.status !== "invoked" || inv.commandCount !== c.commandCount) return;
  complete(ctx, inv, inv.result ?? { kind: "failure", code: 500, message: "invocation ended without output" });
};

/**
 * Marks the invocation completed: live attempts are aborted, its key goes to the next in line, and
 * the status (with the journal) is kept for its retention time.
 */
export function complete(ctx: ApplyContext, inv: InvocationStatus, result: InvocationResult): void {
  const { awaiting: _dropped, ...rest } = inv;
  ctx.tx.putInvocation({ ...rest, status: "completed", result, completedAt: ctx.ts, modifiedAt: ctx.ts });
  ctx.emit({ t: "abort", id: inv.id });
  ctx.putTimer({ key: cleanupTimerKey(inv.id), fireAt: ctx.ts + inv.completionRetentionMs, kind: "cleanup", invocationId: inv.id });
  if (needsKeyLock(inv.target)) releaseKeyLock(ctx, inv.target.service, inv.target.key ?? "", inv.id);
}
