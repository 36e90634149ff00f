import { getLazyStateKeysCompletion } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { deliverCompletion } from "../lifecycle/deliver.ts";

export const getLazyStateKeys: EntryHandler<typeof MessageType.GetLazyStateKeysCommand> = (ctx, inv, m) => {
  const keys = ctx.tx.getStateKeys(inv.target.service, inv.target.key ?? "");
  deliverCompletion(ctx, inv.id, getLazyStateKeysCompletion(m.resultCompletionId, keys), m.resultCompletionId);
};
