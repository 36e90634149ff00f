import { signalNotification } from "../../../protocol/journal-codec.ts";
import type { InvocationId } from "../../../types/ids.ts";
import { CANCEL_SIGNAL, type InvocationResult } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { deliverSignal } from "./deliver.ts";
import { terminate } from "./terminate.ts";

// Restate's well-known failure (codes are HTTP-like).
const CANCELED: InvocationResult = { kind: "failure", code: 409, message: "canceled" };

/** An operator cancels the invocation. */
export const cancel: CommandHandler<"cancel"> = (ctx, c) => cancelInvocation(ctx, c.id);

/**
 * Cancels the invocation in whatever state it is, as an operator's cancel and a CANCEL signal from
 * another handler both do: one that never started ends as canceled; one that started gets the
 * CANCEL signal (a paused one is resumed to receive it), and its SDK turns that into a terminal
 * error, runs the handler's compensation and propagates it to the calls it waits for.
 */
export function cancelInvocation(ctx: ApplyContext, id: InvocationId): void {
  const inv = ctx.tx.getInvocation(id);
  if (!inv) return;
  switch (inv.status) {
    case "inboxed":
    case "scheduled":
      terminate(ctx, id, CANCELED);
      return;
    case "invoked":
    case "suspended":
    case "paused": {
      const signal = { idx: CANCEL_SIGNAL };
      deliverSignal(ctx, id, signalNotification(signal, { kind: "void" }), signal);
      return;
    }
    case "completed":
      return;
  }
}
