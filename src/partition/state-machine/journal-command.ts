import { decodeJournalCommand, journalCommandName, type DecodedJournalCommand, type JournalCommandType } from "../../protocol/journal-codec.ts";
import { MessageType } from "../../protocol/message-type.ts";
import type { InvocationStatus, JournalEntry } from "../../types/invocation.ts";
import type { CalleeAssignment } from "../records.ts";
import type { ApplyContext, CommandHandler, EntryHandler } from "./context.ts";
import { attachInvocation } from "./entries/attach-invocation.ts";
import { call } from "./entries/call.ts";
import { clearAllState } from "./entries/clear-all-state.ts";
import { clearState } from "./entries/clear-state.ts";
import { completeAwakeable } from "./entries/complete-awakeable.ts";
import { completePromise } from "./entries/complete-promise.ts";
import { getInvocationOutput } from "./entries/get-invocation-output.ts";
import { getLazyStateKeys } from "./entries/get-lazy-state-keys.ts";
import { getLazyState } from "./entries/get-lazy-state.ts";
import { getPromise } from "./entries/get-promise.ts";
import { journalOnly } from "./entries/journal-only.ts";
import { oneWayCall } from "./entries/one-way-call.ts";
import { output } from "./entries/output.ts";
import { peekPromise } from "./entries/peek-promise.ts";
import { sendSignal } from "./entries/send-signal.ts";
import { setState } from "./entries/set-state.ts";
import { sleep } from "./entries/sleep.ts";
import { withPin } from "./lifecycle/pin-deployment.ts";

/** One handler per command an SDK journals; a command type without one does not compile. */
type EntryHandlers = { readonly [K in JournalCommandType]: EntryHandler<K> };

const ENTRY_HANDLERS: EntryHandlers = {
  [MessageType.OutputCommand]: output,
  [MessageType.GetLazyStateCommand]: getLazyState,
  [MessageType.SetStateCommand]: setState,
  [MessageType.ClearStateCommand]: clearState,
  [MessageType.ClearAllStateCommand]: clearAllState,
  [MessageType.GetLazyStateKeysCommand]: getLazyStateKeys,
  [MessageType.GetEagerStateCommand]: journalOnly,
  [MessageType.GetEagerStateKeysCommand]: journalOnly,
  [MessageType.GetPromiseCommand]: getPromise,
  [MessageType.PeekPromiseCommand]: peekPromise,
  [MessageType.CompletePromiseCommand]: completePromise,
  [MessageType.SleepCommand]: sleep,
  [MessageType.CallCommand]: call,
  [MessageType.OneWayCallCommand]: oneWayCall,
  [MessageType.SendSignalCommand]: sendSignal,
  [MessageType.RunCommand]: journalOnly,
  [MessageType.AttachInvocationCommand]: attachInvocation,
  [MessageType.GetInvocationOutputCommand]: getInvocationOutput,
  [MessageType.CompleteAwakeableCommand]: completeAwakeable,
};

/** A command the SDK sent, in SDK order: journaled, counted, then its handler runs. */
export const journalCommand: CommandHandler<"journal-command"> = (ctx, c) => {
  const { tx, ts } = ctx;
  const inv = tx.getInvocation(c.id);
  // A command from an attempt that is no longer current (retried, suspended, completed): drop it.
  if (!inv || inv.status !== "invoked" || c.commandIndex !== inv.commandCount) return;
  // Undefined for custom entries: opaque to the runtime, journaled in order like commands, no effect.
  const decoded = decodeJournalCommand(c.msgType, c.payload);
  const name = decoded && journalCommandName(decoded.message);
  const entry: JournalEntry = {
    index: inv.journalLength,
    type: c.msgType,
    payload: c.payload,
    appendedAt: ts,
    ...(name !== undefined ? { name } : {}),
  };
  tx.appendJournal(inv.id, entry);
  const status: InvocationStatus = { ...withPin(inv, c.pin), journalLength: inv.journalLength + 1, commandCount: inv.commandCount + 1, modifiedAt: ts };
  tx.putInvocation(status);
  if (decoded) applyEntry(ctx, status, decoded, c.callee);
};

function applyEntry<K extends JournalCommandType>(ctx: ApplyContext, inv: InvocationStatus, d: DecodedJournalCommand<K>, callee: CalleeAssignment | undefined): void {
  ENTRY_HANDLERS[d.type](ctx, inv, d.message, callee);
}
