import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { sleepTimerKey } from "../timer-keys.ts";

/** The wake-up time is the SDK's, carried in the command; the leader's timer fires the completion. */
export const sleep: EntryHandler<typeof MessageType.SleepCommand> = (ctx, inv, m) =>
  ctx.putTimer({
    key: sleepTimerKey(inv.id, m.resultCompletionId),
    fireAt: Number(m.wakeUpTime),
    kind: "sleep",
    invocationId: inv.id,
    completionId: m.resultCompletionId,
  });
