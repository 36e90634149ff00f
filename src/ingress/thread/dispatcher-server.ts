import type { Logger } from "pino";
import { errorToThread } from "../../common/thread-error.ts";
import type { InvocationDispatcher, ResultAnswer, ResultWaiter } from "../../partition/dispatcher.ts";
import { answerFromCompleted } from "../../partition/state-machine/index.ts";
import type { InvocationId } from "../../types/ids.ts";
import type { DispatcherCalls, DispatcherOp, ToIngress, ToMain } from "./messages.ts";

type Handlers = { readonly [K in DispatcherOp]: (d: InvocationDispatcher, args: DispatcherCalls[K]["args"]) => Promise<DispatcherCalls[K]["answer"]> };
const HANDLERS: Handlers = {
  dispatch: (d, args) => d.dispatch(...args),
  propose: (d, args) => d.propose(...args),
  readStatus: (d, args) => d.readStatus(...args),
  readWithJournal: (d, args) => d.readWithJournal(...args),
};

/**
 * The far side of an ingress thread's `DispatcherProxy`: answers its calls from a dispatcher and
 * sends the results it waits for. On the node's main thread, or on a partition thread for the
 * partitions there (a single node's ingress talks to those directly).
 */
export class DispatcherServer {
  private readonly waiters = new Map<string, ResultWaiter>();

  constructor(
    private readonly dispatcher: InvocationDispatcher,
    private readonly send: (m: ToIngress) => void,
    private readonly log: Logger,
  ) {}

  /** Handles a message that concerns the dispatcher; false for anything else. */
  receive(m: ToMain): boolean {
    switch (m.t) {
      case "call":
        void this.serve(m.seq, m.op, m.args);
        return true;
      case "await": {
        const waiter = this.dispatcher.awaitResult(m.id, m.requestId);
        this.waiters.set(m.requestId, waiter);
        void waiter.answer.then((answer) => this.answer(m.id, m.requestId, answer));
        // Registered after the result may have been applied (on a restarted thread): the store has it then.
        if (m.again) void this.answerFromStore(m.id, m.requestId);
        return true;
      }
      case "cancel":
        this.waiters.get(m.requestId)?.cancel();
        this.waiters.delete(m.requestId);
        return true;
      default:
        return false;
    }
  }

  /** The ingress thread is gone: none of its requests waits for a result any more. */
  cancelAll(): void {
    for (const w of this.waiters.values()) w.cancel();
    this.waiters.clear();
  }

  private answer(id: InvocationId, requestId: string, answer: ResultAnswer): void {
    const waiter = this.waiters.get(requestId);
    if (!this.waiters.delete(requestId)) return;
    waiter!.cancel();
    this.send({ t: "result", id, requestId, answer });
  }

  private async answerFromStore(id: InvocationId, requestId: string): Promise<void> {
    try {
      const status = await this.dispatcher.readStatus(id);
      const answer = status && answerFromCompleted(status, requestId);
      if (answer) this.answer(id, requestId, answer);
    } catch (e) {
      // The waiter stays registered: the result still reaches it if it is applied later.
      this.log.warn({ err: e, invocationId: id }, "a result waiter registered again could not read the invocation's status");
    }
  }

  private async serve(seq: number, op: DispatcherOp, args: readonly unknown[]): Promise<void> {
    const handler = HANDLERS[op] as (d: InvocationDispatcher, args: readonly unknown[]) => Promise<unknown>;
    try {
      const value = await handler(this.dispatcher, args);
      this.send({ t: "answer", seq, ok: true, value, keyless: this.dispatcher.keylessPartitions() });
    } catch (e) {
      this.send({ t: "answer", seq, ok: false, error: errorToThread(e), keyless: this.dispatcher.keylessPartitions() });
    }
  }
}
