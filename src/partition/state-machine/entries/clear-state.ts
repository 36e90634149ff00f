import { stateKeyText } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";

export const clearState: EntryHandler<typeof MessageType.ClearStateCommand> = (ctx, inv, m) =>
  ctx.tx.clearStateValue(inv.target.service, inv.target.key ?? "", stateKeyText(m.key));
