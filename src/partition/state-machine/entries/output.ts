import { valueOrFailure } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { sendResult } from "../lifecycle/response-sinks.ts";

/** The handler's result: callers are answered now; the invocation completes when the attempt ends. */
export const output: EntryHandler<typeof MessageType.OutputCommand> = (ctx, inv, m) => {
  const result = valueOrFailure(m.result);
  ctx.tx.putInvocation({ ...inv, result });
  sendResult(ctx, inv, result);
};
