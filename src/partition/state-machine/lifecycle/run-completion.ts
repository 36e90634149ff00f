import { runCompletion as runCompletionNotification } from "../../../protocol/journal-codec.ts";
import type { CommandHandler } from "../context.ts";
import { deliverCompletion } from "./deliver.ts";

/** The SDK proposed the result of a `ctx.run`: it is journaled, and the attempt is told it is stored. */
export const runCompletion: CommandHandler<"run-completion"> = (ctx, c) =>
  deliverCompletion(ctx, c.id, runCompletionNotification(c.completionId, c.result), c.completionId, true);
