import { getPromiseCompletion } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { deliverCompletion } from "../lifecycle/deliver.ts";
import { promiseResult } from "./promise-result.ts";

/** Awaits a workflow promise: answered now if it is completed, else queued as one of its waiters. */
export const getPromise: EntryHandler<typeof MessageType.GetPromiseCommand> = (ctx, inv, m) => {
  const service = inv.target.service;
  const key = inv.target.key ?? "";
  const p = ctx.tx.getPromise(service, key, m.key);
  if (p && p.state !== "pending") {
    deliverCompletion(ctx, inv.id, getPromiseCompletion(m.resultCompletionId, promiseResult(p)), m.resultCompletionId);
    return;
  }
  const waiters = [...(p?.waiters ?? []), { invocationId: inv.id, completionId: m.resultCompletionId }];
  ctx.tx.putPromise(service, key, m.key, { state: "pending", waiters });
};
