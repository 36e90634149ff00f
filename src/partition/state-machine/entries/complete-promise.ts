import { completePromiseCompletion, getPromiseCompletion, promiseCompletion } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { PromiseEntry } from "../../../storage/partition-store.ts";
import type { EntryHandler } from "../context.ts";
import { deliverCompletion } from "../lifecycle/deliver.ts";
import { promiseResult } from "./promise-result.ts";

// Restate's well-known failure (codes are HTTP-like).
const PROMISE_ALREADY_COMPLETED = { code: 409, message: "promise was already completed" };

/** Completes a workflow promise once: its waiters are answered; a second completion fails. */
export const completePromise: EntryHandler<typeof MessageType.CompletePromiseCommand> = (ctx, inv, m) => {
  const service = inv.target.service;
  const key = inv.target.key ?? "";
  const p = ctx.tx.getPromise(service, key, m.key);
  if (p && p.state !== "pending") {
    deliverCompletion(ctx, inv.id, completePromiseCompletion(m.resultCompletionId, PROMISE_ALREADY_COMPLETED), m.resultCompletionId);
    return;
  }
  const completion = promiseCompletion(m);
  const completed: PromiseEntry =
    completion.kind === "success"
      ? { state: "resolved", value: completion.value, waiters: [] }
      : { state: "rejected", failure: { code: completion.code, message: completion.message }, waiters: [] };
  ctx.tx.putPromise(service, key, m.key, completed);
  for (const w of p?.waiters ?? []) deliverCompletion(ctx, w.invocationId, getPromiseCompletion(w.completionId, promiseResult(completed)), w.completionId);
  deliverCompletion(ctx, inv.id, completePromiseCompletion(m.resultCompletionId, null), m.resultCompletionId);
};
