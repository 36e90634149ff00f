import type { InvocationStatus } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";
import { copyJournalPrefix } from "../journal-prefix.ts";
import { schedule } from "./key-lock.ts";
import { repinned } from "./resume.ts";

/**
 * A completed invocation runs again as a new one: same target, headers and retention, its journal
 * copied up to `from` so the new attempt replays that part, on the old one's deployment or the one
 * the command names. The proposer checked the request; a
 * record that no longer fits (the old invocation was purged meanwhile, the new id exists) does nothing.
 */
export const restartAsNew: CommandHandler<"restart-as-new"> = (ctx, c) => {
  const { tx, ts } = ctx;
  const old = tx.getInvocation(c.id);
  if (!old || old.status !== "completed" || old.target.serviceType === "WORKFLOW" || tx.getInvocation(c.newId)) return;
  const prefix = copyJournalPrefix(tx.getJournal(c.id), c.from);
  if (typeof prefix === "string") return;
  for (const e of prefix.entries) tx.appendJournal(c.newId, e);
  const status: InvocationStatus = {
    id: c.newId,
    status: "scheduled",
    target: old.target,
    headers: old.headers,
    responseSinks: [],
    restartedFrom: c.id,
    randomSeed: c.randomSeed,
    journalLength: prefix.entries.length,
    commandCount: prefix.commandCount,
    deliveredCompletions: prefix.deliveredCompletions,
    ...(prefix.deliveredSignals.length > 0 ? { deliveredSignals: prefix.deliveredSignals } : {}),
    createdAt: ts,
    modifiedAt: ts,
    completionRetentionMs: old.completionRetentionMs,
    ...(old.journalRetentionMs !== undefined ? { journalRetentionMs: old.journalRetentionMs } : {}),
    ...(old.pinnedDeployment !== undefined ? { pinnedDeployment: old.pinnedDeployment } : {}),
    ...(c.traceContext !== undefined ? { traceContext: c.traceContext } : {}),
    ...repinned(old, c.deploymentId),
  };
  schedule(ctx, status);
};
