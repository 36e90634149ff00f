import type { InvocationStatus } from "../../../types/invocation.ts";
import type { ApplyContext } from "../context.ts";

/**
 * A completed invocation's journal retention is up before its completion retention: the journal
 * goes, the status (with its result) stays, saying its journal is empty, so a reader of both sees
 * them agree.
 */
export function dropJournal(ctx: ApplyContext, inv: InvocationStatus): void {
  ctx.tx.deleteJournal(inv.id);
  ctx.tx.putInvocation({ ...inv, journalLength: 0 });
}
