import type { CommandHandler } from "../context.ts";

/** The leader appended the outbox message to its target's log: it need not be shipped again. */
export const outboxShipped: CommandHandler<"outbox-shipped"> = (ctx, c) => ctx.tx.deleteOutbox(c.seq);
