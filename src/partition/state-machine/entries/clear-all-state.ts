import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";

export const clearAllState: EntryHandler<typeof MessageType.ClearAllStateCommand> = (ctx, inv) =>
  ctx.tx.clearAllState(inv.target.service, inv.target.key ?? "");
