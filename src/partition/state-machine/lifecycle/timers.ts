import { sleepCompletion } from "../../../protocol/journal-codec.ts";
import type { CommandHandler } from "../context.ts";
import { deliverCompletion } from "./deliver.ts";
import { schedule } from "./key-lock.ts";
import { forget } from "./purge.ts";
import { dropJournal } from "./retention.ts";

/** The leader's timer fired: a sleep ends, a delayed invocation starts, or a retention time (status or journal) is up. */
export const timerFired: CommandHandler<"timer-fired"> = (ctx, c) => {
  const { tx } = ctx;
  const timer = tx.getTimer(c.key);
  // Fired twice (the leader retries proposing), or cancelled meanwhile; or the key is set again for
  // a later use of the invocation id (a purge, then a new invocation with that id), whose timer is
  // not the one that fired.
  if (!timer || (c.fireAt !== undefined && c.fireAt !== timer.fireAt)) return;
  tx.deleteTimer(c.key);
  switch (timer.kind) {
    case "sleep":
      deliverCompletion(ctx, timer.invocationId, sleepCompletion(timer.completionId!), timer.completionId!);
      return;
    case "delayed-invoke": {
      const inv = tx.getInvocation(timer.invocationId);
      if (inv?.status === "scheduled") schedule(ctx, inv);
      return;
    }
    case "cleanup": {
      const inv = tx.getInvocation(timer.invocationId);
      if (inv?.status === "completed") forget(ctx, inv);
      return;
    }
    case "journal-cleanup": {
      const inv = tx.getInvocation(timer.invocationId);
      if (inv?.status === "completed") dropJournal(ctx, inv);
      return;
    }
  }
};
