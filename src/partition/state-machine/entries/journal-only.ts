import type { EntryHandler } from "../context.ts";
import type { JournalCommandType } from "../../../protocol/journal-codec.ts";

/**
 * For commands whose journal entry is all the runtime keeps: a run (its result arrives as a
 * run-completion record the SDK proposes) and eager state reads (answered by the SDK from the
 * state it was started with; journaled for replay).
 */
export const journalOnly: EntryHandler<JournalCommandType> = () => {};
