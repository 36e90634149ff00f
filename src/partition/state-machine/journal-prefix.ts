import { commandCompletionIds, decodeJournalCommand, notificationKey } from "../../protocol/journal-codec.ts";
import { isCommandType, isCustomType } from "../../protocol/message-type.ts";
import type { JournalEntry } from "../../types/invocation.ts";
import { signalToken } from "./lifecycle/deliver.ts";

/** The journal a restarted invocation starts from, and what it has been delivered. */
export interface JournalPrefix {
  readonly entries: readonly JournalEntry[];
  readonly commandCount: number;
  readonly deliveredCompletions: readonly number[];
  readonly deliveredSignals: readonly (number | string)[];
}

/** Why a prefix cannot be copied: `from` is past the journal, or a copied command's completion never arrived. */
export type JournalPrefixProblem = "index_out_of_range" | "missing_completion";

/**
 * Entries 0..`from` (included) of a completed invocation's journal, then the later notifications
 * that complete commands of that prefix, renumbered in that order. A command whose completion is
 * not in the journal at all cannot be copied: the new attempt would wait for it forever.
 */
export function copyJournalPrefix(journal: readonly JournalEntry[], from: number): JournalPrefix | JournalPrefixProblem {
  if (!Number.isSafeInteger(from) || from < 0 || from >= journal.length) return "index_out_of_range";
  const picked: JournalEntry[] = [];
  const missing = new Set<number>();
  let commandCount = 0;
  const completions: number[] = [];
  const signals: (number | string)[] = [];
  const take = (e: JournalEntry, key: ReturnType<typeof notificationKey>) => {
    picked.push({ ...e, index: picked.length });
    if (key && "completionId" in key) {
      missing.delete(key.completionId);
      completions.push(key.completionId);
    } else if (key) signals.push(signalToken(key.signal));
  };
  for (const e of journal.slice(0, from + 1)) {
    if (isCommandType(e.type) || isCustomType(e.type)) {
      commandCount++;
      const decoded = decodeJournalCommand(e.type, e.payload);
      if (decoded) for (const id of commandCompletionIds(decoded.message)) missing.add(id);
      take(e, undefined);
    } else {
      take(e, notificationKey(e.type, e.payload));
    }
  }
  for (const e of journal.slice(from + 1)) {
    if (missing.size === 0) break;
    const key = notificationKey(e.type, e.payload);
    if (key && "completionId" in key && missing.has(key.completionId)) take(e, key);
  }
  if (missing.size > 0) return "missing_completion";
  return { entries: picked, commandCount, deliveredCompletions: completions, deliveredSignals: signals };
}
