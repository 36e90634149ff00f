import { MessageType } from "../../../protocol/message-type.ts";
import type { EntryHandler } from "../context.ts";
import { invokeCallee } from "./call.ts";

/** A send: the callee is invoked (at `invokeTime` when set), and nobody waits for its result. */
export const oneWayCall: EntryHandler<typeof MessageType.OneWayCallCommand> = (ctx, inv, m, callee) =>
  invokeCallee(ctx, inv, callee, m, undefined, m.invokeTime > 0n ? Number(m.invokeTime) : undefined);
