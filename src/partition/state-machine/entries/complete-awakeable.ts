import { valueOrFailure } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import { parseAwakeableId } from "../../awakeable-id.ts";
import type { EntryHandler } from "../context.ts";

/** An awakeable is a signal slot of the invocation that created it: the completion is shipped there. */
export const completeAwakeable: EntryHandler<typeof MessageType.CompleteAwakeableCommand> = (ctx, inv, m) => {
  const parsed = parseAwakeableId(m.awakeableId);
  if (!parsed) {
    ctx.log.warn({ invocationId: inv.id, awakeableId: m.awakeableId }, "ignoring completion of a malformed awakeable id");
    return;
  }
  ctx.outbox({ t: "signal", target: parsed.invocationId, signal: { idx: parsed.signalIdx }, result: valueOrFailure(m.result) });
};
