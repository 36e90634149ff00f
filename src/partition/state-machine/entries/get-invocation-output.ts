import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { requestResult } from "./attach-invocation.ts";

/** Another invocation's result if it has one, else "not ready": the caller does not wait. */
export const getInvocationOutput: EntryHandler<typeof MessageType.GetInvocationOutputCommand> = (ctx, inv, m) =>
  requestResult(ctx, inv, m, "output");
