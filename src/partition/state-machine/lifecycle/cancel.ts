import { CANCEL_SIGNAL, type InvocationResult } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";
import { sendSignal } from "./signal.ts";
import { terminate } from "./terminate.ts";

// Restate's well-known failure (codes are HTTP-like).
const CANCELED: InvocationResult = { kind: "failure", code: 409, message: "canceled" };

/** An operator cancels the invocation. */
export const cancel: CommandHandler<"cancel"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  if (!inv || inv.status === "completed") return;
  if (inv.status === "inboxed" || inv.status === "scheduled") {
    terminate(ctx, c.id, CANCELED);
    return;
  }
  // A running invocation cancels itself: the SDK turns the signal into a terminal error and
  // propagates it to the calls it is waiting for.
  sendSignal(ctx, inv.id, { idx: CANCEL_SIGNAL }, { kind: "void" });
};
