import { signalNotification } from "../../../protocol/journal-codec.ts";
import type { InvocationId } from "../../../types/ids.ts";
import type { SignalId, SignalResult } from "../../../types/invocation.ts";
import type { ApplyContext, CommandHandler } from "../context.ts";
import { deliverSignal } from "./deliver.ts";

/** A signal for an invocation of this partition: an awakeable completion or a named signal. */
export const signal: CommandHandler<"signal"> = (ctx, c) => sendSignal(ctx, c.target, c.signal, c.result);

export function sendSignal(ctx: ApplyContext, target: InvocationId, signal: SignalId, result: SignalResult): void {
  deliverSignal(ctx, target, signalNotification(signal, result), signal);
}
