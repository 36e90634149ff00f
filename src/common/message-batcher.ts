/**
 * Messages to another thread, posted as one array per task: `postMessage` costs about as much for
 * one small message as for many (a structured clone, a wakeup of the other thread's loop, an event
 * there), and one task often produces several (a request's waiter and its dispatch; the results
 * of one applied batch). Flushed on the microtask queue, so nothing waits for a later turn of the
 * event loop.
 */
export class MessageBatcher<M> {
  private pending: M[] = [];
  private scheduled = false;

  constructor(private readonly post: (batch: readonly M[]) => void) {}

  send(message: M): void {
    this.pending.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.flush());
  }

  /** Posts what is pending now; a caller about to close the port calls it first. */
  flush(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.post(batch);
  }
}
