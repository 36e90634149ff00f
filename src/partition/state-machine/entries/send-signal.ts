import { sentSignalId, sentSignalResult } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { InvocationId } from "../../../types/ids.ts";
import type { EntryHandler } from "../context.ts";

/** A signal for another invocation, shipped to its partition. */
export const sendSignal: EntryHandler<typeof MessageType.SendSignalCommand> = (ctx, _inv, m) =>
  ctx.outbox({ t: "signal", target: m.targetInvocationId as InvocationId, signal: sentSignalId(m), result: sentSignalResult(m) });
