import { getLazyStateCompletion, stateKeyText } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { deliverCompletion } from "../lifecycle/deliver.ts";

/** A state read the SDK could not answer from the state it was started with: answered from the store. */
export const getLazyState: EntryHandler<typeof MessageType.GetLazyStateCommand> = (ctx, inv, m) => {
  const value = ctx.tx.getStateValue(inv.target.service, inv.target.key ?? "", stateKeyText(m.key));
  deliverCompletion(ctx, inv.id, getLazyStateCompletion(m.resultCompletionId, value), m.resultCompletionId);
};
