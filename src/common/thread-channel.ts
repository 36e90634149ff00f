import { MessageBatcher } from "./message-batcher.ts";
import { errorFromThread, errorToThread, type ThreadError } from "./thread-error.ts";

/** What one side of a channel serves: each operation's arguments and answer (void for a notice). */
export type ThreadCalls = { readonly [op: string]: { readonly args: readonly unknown[]; readonly answer: unknown } };

/** A handler for every operation, so a side that forgets one does not compile. */
export type ThreadHandlers<C extends ThreadCalls> = { readonly [K in keyof C]: (...args: C[K]["args"]) => C[K]["answer"] | Promise<C[K]["answer"]> };

/** One message on the port; a posted batch is an array of them. */
export type ThreadFrame =
  | { readonly k: "call"; readonly seq: number; readonly op: string; readonly args: readonly unknown[] }
  | { readonly k: "notice"; readonly op: string; readonly args: readonly unknown[] }
  | { readonly k: "answer"; readonly seq: number; readonly ok: true; readonly value: unknown }
  | { readonly k: "answer"; readonly seq: number; readonly ok: false; readonly error: ThreadError };

/**
 * Typed calls between two threads of the process over one port: `call` is answered (its promise
 * settles with the other side's value or error), `notify` is not. Messages of one task are posted
 * together (`MessageBatcher`). `Mine` is what this side serves, `Theirs` what the other side does.
 */
export class ThreadChannel<Mine extends ThreadCalls, Theirs extends ThreadCalls> {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private readonly out: MessageBatcher<ThreadFrame>;
  private closedWith: Error | null = null;

  constructor(
    post: (batch: readonly ThreadFrame[]) => void,
    private readonly handlers: ThreadHandlers<Mine>,
    /** A notice's handler failed: there is nobody to answer, so the owner says what happened. */
    private readonly noticeFailed: (op: string, error: unknown) => void,
  ) {
    this.out = new MessageBatcher(post);
  }

  call<K extends keyof Theirs & string>(op: K, ...args: Theirs[K]["args"]): Promise<Theirs[K]["answer"]> {
    if (this.closedWith !== null) return Promise.reject(this.closedWith);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.out.send({ k: "call", seq, op, args });
    });
  }

  notify<K extends keyof Theirs & string>(op: K, ...args: Theirs[K]["args"]): void {
    if (this.closedWith === null) this.out.send({ k: "notice", op, args });
  }

  /** Handles a batch the other side posted. */
  receive(batch: readonly ThreadFrame[]): void {
    for (const frame of batch) {
      switch (frame.k) {
        case "call":
          void this.serve(frame.seq, frame.op, frame.args);
          break;
        case "notice":
          void this.serve(null, frame.op, frame.args);
          break;
        case "answer": {
          const call = this.pending.get(frame.seq);
          this.pending.delete(frame.seq);
          if (frame.ok) call?.resolve(frame.value);
          else call?.reject(errorFromThread(frame.error));
        }
      }
    }
  }

  /** Posts what is pending now; before the port closes. */
  flush(): void {
    this.out.flush();
  }

  /** The other side is gone: every call waiting and every later one fails with `error`. */
  close(error: Error): void {
    this.closedWith ??= error;
    for (const call of this.pending.values()) call.reject(error);
    this.pending.clear();
  }

  private async serve(seq: number | null, op: string, args: readonly unknown[]): Promise<void> {
    const handler = (this.handlers as Record<string, ((...a: readonly unknown[]) => unknown) | undefined>)[op];
    try {
      if (handler === undefined) throw new Error(`no handler for thread call '${op}'`);
      const value = await handler(...args);
      if (seq !== null) this.out.send({ k: "answer", seq, ok: true, value });
    } catch (e) {
      if (seq !== null) this.out.send({ k: "answer", seq, ok: false, error: errorToThread(e) });
      else this.noticeFailed(op, e);
    }
  }
}
