import { peekPromiseCompletion } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { deliverCompletion } from "../lifecycle/deliver.ts";
import { promiseResult } from "./promise-result.ts";

/** Reads a workflow promise without waiting: its result, or empty while it is pending. */
export const peekPromise: EntryHandler<typeof MessageType.PeekPromiseCommand> = (ctx, inv, m) => {
  const p = ctx.tx.getPromise(inv.target.service, inv.target.key ?? "", m.key);
  const result = p && p.state !== "pending" ? promiseResult(p) : null;
  deliverCompletion(ctx, inv.id, peekPromiseCompletion(m.resultCompletionId, result), m.resultCompletionId);
};
