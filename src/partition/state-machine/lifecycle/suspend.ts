import type { AwaitingOn, InvocationStatus } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";
import { signalToken } from "./deliver.ts";

/** The SDK suspended, waiting for `awaiting`; a delivery of any of it resumes the invocation. */
export const suspend: CommandHandler<"suspend"> = (ctx, { id, commandCount, awaiting }) => {
  const inv = ctx.tx.getInvocation(id);
  if (!inv || inv.status !== "invoked" || inv.commandCount !== commandCount) return;
  const nothingAwaited = awaiting.completions.length + awaiting.signals.length + awaiting.namedSignals.length === 0;
  if (nothingAwaited || isAwaited(inv, awaiting)) {
    // What it waits for arrived while it was suspending: resume right away.
    ctx.emit({ t: "invoke", id });
    return;
  }
  ctx.tx.putInvocation({ ...inv, status: "suspended", awaiting, modifiedAt: ctx.ts });
};

/** Whether any of what the invocation waits for was delivered already. */
function isAwaited(inv: InvocationStatus, awaiting: AwaitingOn): boolean {
  const signals = new Set(inv.deliveredSignals ?? []);
  return (
    awaiting.completions.some((c) => inv.deliveredCompletions.includes(c)) ||
    awaiting.signals.some((s) => signals.has(s)) ||
    awaiting.namedSignals.some((name) => signals.has(signalToken({ name })))
  );
}
