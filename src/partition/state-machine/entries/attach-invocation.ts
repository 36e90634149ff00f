import type { JournalCommandMessages } from "../../../protocol/journal-codec.ts";
import { MessageType } from "../../../protocol/message-type.ts";
import type { InvocationId } from "../../../types/ids.ts";
import type { InvocationStatus } from "../../../types/invocation.ts";
import { idempotentInvocationId, workflowRunInvocationId } from "../../routing.ts";
import type { ApplyContext, EntryHandler } from "../context.ts";
import { respond } from "../lifecycle/invocation-response.ts";

/** Waits for another invocation's result, asked of the target's partition. */
export const attachInvocation: EntryHandler<typeof MessageType.AttachInvocationCommand> = (ctx, inv, m) =>
  requestResult(ctx, inv, m, "attach");

type ResultRequest =
  | JournalCommandMessages[typeof MessageType.AttachInvocationCommand]
  | JournalCommandMessages[typeof MessageType.GetInvocationOutputCommand];

/** Asks the target's partition for its result: "attach" waits for it, "output" takes what there is. */
export function requestResult(ctx: ApplyContext, inv: InvocationStatus, m: ResultRequest, via: "attach" | "output"): void {
  const target = targetId(m.target);
  if (target === null) {
    respond(ctx, inv.id, m.resultCompletionId, { kind: "failure", code: 400, message: "attach target is not an invocation id" }, via, false);
    return;
  }
  ctx.outbox({ t: "attach", target, caller: inv.id, completionId: m.resultCompletionId, via });
}

/** Idempotent requests and workflow runs have ids derived from their target, as ingress assigns them. */
function targetId(t: ResultRequest["target"]): InvocationId | null {
  switch (t.case) {
    case "invocationId":
      return t.value as InvocationId;
    case "idempotentRequestTarget":
      return idempotentInvocationId(t.value.serviceName, t.value.serviceKey ?? "", t.value.handlerName, t.value.idempotencyKey);
    case "workflowTarget":
      return workflowRunInvocationId(t.value.workflowName, t.value.workflowKey);
    default:
      return null;
  }
}
