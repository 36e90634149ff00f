import type { Logger } from "pino";
import type { WriteTxn } from "../../storage/partition-store.ts";
import type { Lsn } from "../../types/ids.ts";
import type { Command, Envelope } from "../records.ts";
import { ApplyContext, type CommandHandler, type CommandOf } from "./context.ts";
import type { Effect } from "./effects.ts";
import { journalCommand } from "./journal-command.ts";
import { attach } from "./lifecycle/attach.ts";
import { cancel } from "./lifecycle/cancel.ts";
import { end } from "./lifecycle/complete.ts";
import { invocationResponse } from "./lifecycle/invocation-response.ts";
import { invoke } from "./lifecycle/invoke.ts";
import { kill } from "./lifecycle/kill.ts";
import { announceLeader } from "./lifecycle/leader.ts";
import { outboxShipped } from "./lifecycle/outbox.ts";
import { pause } from "./lifecycle/pause.ts";
import { pinDeployment } from "./lifecycle/pin-deployment.ts";
import { patchState } from "./lifecycle/patch-state.ts";
import { purge, purgeJournal } from "./lifecycle/purge.ts";
import { restartAsNew } from "./lifecycle/restart-as-new.ts";
import { resume } from "./lifecycle/resume.ts";
import { runCompletion } from "./lifecycle/run-completion.ts";
import { signal } from "./lifecycle/signal.ts";
import { suspend } from "./lifecycle/suspend.ts";
import { fail } from "./lifecycle/terminate.ts";
import { timerFired } from "./lifecycle/timers.ts";

export type { AppliedResult, Effect } from "./effects.ts";
export { answerFromCompleted, DEFAULT_COMPLETION_RETENTION_MS } from "./lifecycle/invoke.ts";

/** One handler per log command; a command without one does not compile. */
type CommandHandlers = { readonly [K in Command["t"]]: CommandHandler<K> };

const COMMAND_HANDLERS: CommandHandlers = {
  "announce-leader": announceLeader,
  invoke,
  "journal-command": journalCommand,
  "run-completion": runCompletion,
  suspend,
  end,
  "pin-deployment": pinDeployment,
  "attempt-steps": (ctx, { steps }) => {
    for (const step of steps) dispatch(ctx, step.t, step);
  },
  fail,
  "invocation-response": invocationResponse,
  "timer-fired": timerFired,
  "outbox-shipped": outboxShipped,
  signal,
  attach,
  cancel,
  kill,
  purge,
  "purge-journal": purgeJournal,
  "patch-state": patchState,
  pause,
  resume,
  "restart-as-new": restartAsNew,
};

/**
 * The deterministic heart of a partition: `apply` is a pure function of (store, record). It never
 * reads the clock, randomness or the environment; time comes from the record header.
 */
export class StateMachine {
  constructor(private readonly log: Logger) {}

  /** Applies one record; the caller records the applied LSN once per batch, in the same transaction. */
  apply(tx: WriteTxn, lsn: Lsn, env: Envelope, effects: Effect[]): void {
    const { header, command } = env;
    if (header.epoch !== undefined && header.epoch < tx.leaderEpoch()) {
      // Proposed by a deposed leader: its view may be stale, so the record must have no effect.
      this.log.debug({ lsn, epoch: header.epoch, current: tx.leaderEpoch(), t: command.t }, "ignoring record of old epoch");
      return;
    }
    dispatch(new ApplyContext(tx, header.ts, effects, this.log), command.t, command);
  }
}

/** `t` is `c.t`, passed apart so the handler's type follows from it. */
function dispatch<K extends Command["t"]>(ctx: ApplyContext, t: K, c: CommandOf<K>): void {
  COMMAND_HANDLERS[t](ctx, c);
}
