import type { InvocationId } from "../../../types/ids.ts";
import type { InvocationResult } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { delayedInvokeTimerKey } from "../timer-keys.ts";
import { complete } from "./complete.ts";
import { leaveInbox } from "./key-lock.ts";
import { sendResult } from "./response-sinks.ts";

/** The invoker gave up on the invocation (retries exhausted, unknown service): it fails with that error. */
export const fail: CommandHandler<"fail"> = (ctx, c) => terminate(ctx, c.id, { kind: "failure", code: c.code, message: c.message });

/**
 * Ends an invocation from outside its journal, whatever state it is in: the result is final, and
 * a queued or delayed invocation never starts.
 */
export function terminate(ctx: ApplyContext, id: InvocationId, result: InvocationResult): void {
  const inv = ctx.tx.getInvocation(id);
  if (!inv || inv.status === "completed") return;
  if (inv.status === "inboxed") leaveInbox(ctx, id);
  if (inv.status === "scheduled") ctx.tx.deleteTimer(delayedInvokeTimerKey(id));
  sendResult(ctx, inv, result);
  complete(ctx, inv, result);
}
