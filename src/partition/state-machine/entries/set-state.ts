import { stateKeyText } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";

export const setState: EntryHandler<typeof MessageType.SetStateCommand> = (ctx, inv, m) =>
  ctx.tx.setStateValue(inv.target.service, inv.target.key ?? "", stateKeyText(m.key), m.value?.content ?? new Uint8Array());
