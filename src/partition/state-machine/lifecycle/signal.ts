import { signalNotification } from "../../../protocol/journal-codec.ts";
import { CANCEL_SIGNAL } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";
import { cancelInvocation } from "./cancel.ts";
import { deliverSignal } from "./deliver.ts";

/**
 * A signal for an invocation of this partition: an awakeable completion or a named signal, or the
 * built-in CANCEL (e.g. `ctx.cancel(id)` from another handler), which cancels it in any state.
 */
export const signal: CommandHandler<"signal"> = (ctx, c) => {
  if ("idx" in c.signal && c.signal.idx === CANCEL_SIGNAL) {
    cancelInvocation(ctx, c.target);
    return;
  }
  deliverSignal(ctx, c.target, signalNotification(c.signal, c.result), c.signal);
};
