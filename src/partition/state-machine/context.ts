import type { Logger } from "pino";
import type { JournalCommandMessages, JournalCommandType } from "../../protocol/journal-codec.ts";
import type { TimerEntry, WriteTxn } from "../../storage/partition-store.ts";
import type { InvocationStatus } from "../../types/invocation.ts";
import { encodeOutboxMessage, type CalleeAssignment, type Command, type OutboxMessage } from "../records.ts";
import type { Effect } from "./effects.ts";

/**
 * What every handler applies one record with: the write transaction, the record's timestamp (the
 * only time source) and the effects the leader will carry out.
 */
export class ApplyContext {
  constructor(
    readonly tx: WriteTxn,
    readonly ts: number,
    private readonly effects: Effect[],
    readonly log: Logger,
  ) {}

  emit(effect: Effect): void {
    this.effects.push(effect);
  }

  putTimer(timer: TimerEntry): void {
    this.tx.putTimer(timer);
    this.effects.push({ t: "timer", timer });
  }

  /** Stores a message for the leader to ship to its target's partition (possibly this one). */
  outbox(message: OutboxMessage): void {
    const entry = { seq: this.tx.nextCounter("outbox"), message: encodeOutboxMessage(message) };
    this.tx.putOutbox(entry);
    this.effects.push({ t: "outbox", entry });
  }
}

/** The log command of type `K`. */
export type CommandOf<K extends Command["t"]> = Extract<Command, { t: K }>;

export type CommandHandler<K extends Command["t"]> = (ctx: ApplyContext, c: CommandOf<K>) => void;

/**
 * What a journal command does beyond being journaled. `inv` is the invocation with the command
 * already counted; `callee` is what the proposer resolved for Call and OneWayCall.
 */
export type EntryHandler<K extends JournalCommandType> = (
  ctx: ApplyContext,
  inv: InvocationStatus,
  m: JournalCommandMessages[K],
  callee: CalleeAssignment | undefined,
) => void;
