import { errorToThread } from "../../common/thread-error.ts";
import type { InvocationDispatcher, ResultWaiter } from "../../partition/dispatcher.ts";
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
        void waiter.answer.then((answer) => {
          if (this.waiters.delete(m.requestId)) this.send({ t: "result", id: m.id, requestId: m.requestId, answer });
        });
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
