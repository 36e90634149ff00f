import type { InvocationStatus } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { cleanupTimerKey, journalCleanupTimerKey } from "../timer-keys.ts";
import { idempotencyScope } from "./invoke.ts";
import { dropJournal } from "./retention.ts";

/** An operator drops a completed invocation before its retention time is up. */
export const purge: CommandHandler<"purge"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  if (!inv || inv.status !== "completed") return;
  ctx.tx.deleteTimer(cleanupTimerKey(c.id));
  forget(ctx, inv);
};

/** An operator drops a completed invocation's journal before its journal retention is up; status and result stay. */
export const purgeJournal: CommandHandler<"purge-journal"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  if (!inv || inv.status !== "completed") return;
  ctx.tx.deleteTimer(journalCleanupTimerKey(c.id));
  dropJournal(ctx, inv);
};

/** Removes every trace of a completed invocation; its id may then be invoked afresh. */
export function forget(ctx: ApplyContext, inv: InvocationStatus): void {
  const { tx } = ctx;
  tx.deleteJournal(inv.id);
  tx.deleteTimer(journalCleanupTimerKey(inv.id));
  tx.deleteInvocation(inv.id);
  if (inv.idempotencyKey !== undefined) tx.deleteIdempotency(idempotencyScope({ target: inv.target, idempotencyKey: inv.idempotencyKey }));
  if (inv.target.handlerType === "WORKFLOW") {
    // A workflow's state and promises live as long as its run invocation is retained.
    tx.clearAllState(inv.target.service, inv.target.key ?? "");
    tx.clearPromises(inv.target.service, inv.target.key ?? "");
  }
}
