import { attachInvocationCompletion, callCompletion, getInvocationOutputCompletion } from "../../../protocol/journal-codec.ts";
import type { InvocationId } from "../../../types/ids.ts";
import type { InvocationResult, ResponseVia } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { deliverCompletion } from "./deliver.ts";

/** The result of a call, attach or output request this partition's invocation made. */
export const invocationResponse: CommandHandler<"invocation-response"> = (ctx, c) =>
  respond(ctx, c.target, c.completionId, c.result, c.via ?? "call", c.notReady ?? false);

/** Delivers `result` as the notification the caller's command expects; `notReady` answers an output request early. */
export function respond(ctx: ApplyContext, target: InvocationId, completionId: number, result: InvocationResult, via: ResponseVia, notReady: boolean): void {
  const notification =
    via === "call"
      ? callCompletion(completionId, result)
      : via === "attach"
        ? attachInvocationCompletion(completionId, result)
        : getInvocationOutputCompletion(completionId, notReady ? null : result);
  deliverCompletion(ctx, target, notification, completionId);
}
