import { calledInvocationId } from "../../../protocol/journal-codec.ts";
import type { InvocationId } from "../../../types/ids.ts";
import type { InvocationResult } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { terminate } from "./terminate.ts";

// Restate's well-known failure (codes are HTTP-like).
const KILLED: InvocationResult = { kind: "failure", code: 409, message: "killed" };

/**
 * The invocation ends now, without running any more of its handler, and so does its call tree:
 * every invocation its journal called or sent to is killed as well (as Restate does; one that has
 * completed meanwhile ignores the kill).
 */
export const kill: CommandHandler<"kill"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.id);
  if (!inv || inv.status === "completed") return;
  if (inv.status === "invoked" || inv.status === "suspended" || inv.status === "paused") {
    for (const child of children(ctx, c.id)) ctx.outbox({ t: "kill", id: child });
  }
  terminate(ctx, c.id, KILLED);
};

function children(ctx: ApplyContext, id: InvocationId): InvocationId[] {
  const ids: InvocationId[] = [];
  for (const e of ctx.tx.getJournal(id)) {
    const child = calledInvocationId(e.type, e.payload);
    if (child !== undefined) ids.push(child as InvocationId);
  }
  return ids;
}
