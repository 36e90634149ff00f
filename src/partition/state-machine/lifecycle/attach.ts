import type { ResponseSink } from "../../../types/invocation.ts";
import type { CommandHandler } from "../context.ts";
import { addSink, sendResultTo } from "./response-sinks.ts";

// Restate's well-known failure (codes are HTTP-like).
const NOT_READY = { code: 470, message: "the response is not ready yet" };

/**
 * Another invocation wants the target's result (AttachInvocation / GetInvocationOutput): "attach"
 * waits for it, "output" answers right away, with "not ready" while the target still runs.
 */
export const attach: CommandHandler<"attach"> = (ctx, c) => {
  const inv = ctx.tx.getInvocation(c.target);
  const sink: ResponseSink = { kind: "invocation", caller: c.caller, completionId: c.completionId, via: c.via };
  if (!inv) {
    sendResultTo(ctx, c.target, sink, { kind: "failure", code: 404, message: `invocation ${c.target} not found` });
    return;
  }
  if (inv.status === "completed" || c.via === "attach") {
    addSink(ctx, inv, sink);
    return;
  }
  ctx.outbox({ t: "invocation-response", target: c.caller, completionId: c.completionId, result: { kind: "failure", ...NOT_READY }, via: "output", notReady: true });
};
