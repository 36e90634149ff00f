import type { CommandHandler } from "../context.ts";

/**
 * The invocation stops running until it is resumed: the invoker gave up retrying it (or its SDK
 * asked to pause), or an operator paused it. It keeps its key and its journal; what arrives for it
 * meanwhile is journaled for the next attempt. What a suspended one awaited is dropped: the attempt
 * after a resume replays the journal and tells again.
 */
export const pause: CommandHandler<"pause"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  if (!inv || (inv.status !== "invoked" && inv.status !== "suspended")) return;
  const { awaiting: _dropped, ...rest } = inv;
  ctx.tx.putInvocation({ ...rest, status: "paused", modifiedAt: ctx.ts });
  // An operator's pause may find an attempt running; the invoker's own has ended already.
  ctx.emit({ t: "abort", id: c.id });
};
