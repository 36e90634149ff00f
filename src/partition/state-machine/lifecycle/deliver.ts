import type { EncodedNotification } from "../../../protocol/journal-codec.ts";
import type { InvocationId } from "../../../types/ids.ts";
import { CANCEL_SIGNAL, type AwaitingOn, type JournalEntry, type SignalId } from "../../../types/invocation.ts";
import type { ApplyContext } from "../context.ts";

/** Which notification, and under which id, a journal entry delivers. */
type DeliveryKey = { readonly completionId: number; readonly runAck?: boolean } | { readonly signal: SignalId };

/** Delivers the completion `completionId` of `id`'s journal; `runAck` marks the stored result of a run. */
export function deliverCompletion(ctx: ApplyContext, id: InvocationId, notification: EncodedNotification, completionId: number, runAck?: boolean): void {
  deliver(ctx, id, notification, runAck ? { completionId, runAck } : { completionId });
}

export function deliverSignal(ctx: ApplyContext, id: InvocationId, notification: EncodedNotification, signal: SignalId): void {
  deliver(ctx, id, notification, { signal });
}

/**
 * Journals a notification for `id` once (duplicates are dropped), forwards it to a live attempt,
 * and resumes the invocation if it was suspended waiting for it. A paused invocation keeps what
 * arrives for its next attempt and resumes only for a cancellation, which it must get to handle.
 */
function deliver(ctx: ApplyContext, id: InvocationId, notification: EncodedNotification, key: DeliveryKey): void {
  const { tx } = ctx;
  const inv = tx.getInvocation(id);
  if (!inv || (inv.status !== "invoked" && inv.status !== "suspended" && inv.status !== "paused")) return;
  const signals = inv.deliveredSignals ?? [];
  if ("completionId" in key ? inv.deliveredCompletions.includes(key.completionId) : signals.includes(signalToken(key.signal))) return;
  const entry: JournalEntry = { type: notification.type, payload: notification.payload, appendedAt: ctx.ts, index: inv.journalLength };
  tx.appendJournal(id, entry);
  const resumes = inv.status === "suspended" ? awaits(inv.awaiting, key) : inv.status === "paused" && "signal" in key && isCancel(key.signal);
  const { awaiting: _a, ...withoutAwaiting } = inv;
  tx.putInvocation({
    ...(resumes ? withoutAwaiting : inv),
    status: resumes ? "invoked" : inv.status,
    journalLength: inv.journalLength + 1,
    ...("completionId" in key
      ? { deliveredCompletions: [...inv.deliveredCompletions, key.completionId] }
      : { deliveredSignals: [...signals, signalToken(key.signal)] }),
    modifiedAt: ctx.ts,
  });
  if (resumes) ctx.emit({ t: "invoke", id });
  else if (inv.status === "invoked") {
    const runAck = "completionId" in key && key.runAck ? { runAck: key.completionId } : {};
    ctx.emit({ t: "notification", id, entry, ...runAck });
  }
}

function awaits(awaiting: AwaitingOn | undefined, key: DeliveryKey): boolean {
  if (awaiting === undefined) return false;
  if ("completionId" in key) return awaiting.completions.includes(key.completionId);
  return "idx" in key.signal ? awaiting.signals.includes(key.signal.idx) : awaiting.namedSignals.includes(key.signal.name);
}

function isCancel(s: SignalId): boolean {
  return "idx" in s && s.idx === CANCEL_SIGNAL;
}

/** Delivered signals are stored as one list: indexes as numbers, names prefixed so they cannot clash. */
export function signalToken(s: SignalId): number | string {
  return "idx" in s ? s.idx : `name:${s.name}`;
}
