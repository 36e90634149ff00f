import { randomUUID } from "node:crypto";
import type { MessageBatcher } from "../../common/message-batcher.ts";
import { errorFromThread } from "../../common/thread-error.ts";
import { RepriseError } from "../../types/errors.ts";
import type { InvocationId, PartitionId, PartitionKey } from "../../types/ids.ts";
import { keylessKeyIn, type InvocationDispatcher, type ResultAnswer, type ResultWaiter } from "../../partition/dispatcher.ts";
import type { PartitionRouter } from "../../partition/routing.ts";
import type { DispatcherCalls, DispatcherOp, KeylessPlacement, ToIngress, ToMain } from "./messages.ts";

/** A request waiting for a result, and the port its interest was registered on. */
interface PendingResult {
  readonly id: InvocationId;
  readonly resolve: (a: ResultAnswer) => void;
  /** Null while the partition's thread restarts: registered again on the new thread's link. */
  link: MessageBatcher<ToMain> | null;
}

/**
 * The node's dispatcher as the ingress thread sees it: each asynchronous operation is a numbered
 * call answered over a port; result waiters are registered there under a request id chosen here,
 * so the dispatch that names it in its response sink always finds it. A partition with a port of
 * its own (a link: a single node's partition threads) is asked there, every other one on the
 * main thread. Where a keyless call goes is decided here from the placement sent with the last
 * answer: a stale one only costs a forward.
 */
export class DispatcherProxy implements InvocationDispatcher {
  private seq = 0;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; link: MessageBatcher<ToMain> }>();
  private readonly waiters = new Map<string, PendingResult>();
  private readonly direct = new Map<PartitionId, MessageBatcher<ToMain>>();
  /**
   * Partitions whose thread exited and whose restarted thread's link has not come yet. Results
   * are applied only on a partition's own thread, so waiting for one anywhere else would never
   * end: their waiters wait here until the link comes.
   */
  private readonly relinking = new Set<PartitionId>();

  constructor(
    readonly nodeId: number,
    private readonly toMain: MessageBatcher<ToMain>,
    private readonly router: PartitionRouter,
    private keyless: KeylessPlacement,
  ) {}

  /** Handles what the main thread sent that concerns the dispatcher; false for anything else. */
  receive(m: ToIngress): boolean {
    if (m.t === "result") {
      const w = this.waiters.get(m.requestId);
      this.waiters.delete(m.requestId);
      w?.resolve(m.answer);
      return true;
    }
    if (m.t !== "answer") return false;
    this.keyless = m.keyless;
    const call = this.calls.get(m.seq);
    this.calls.delete(m.seq);
    if (m.ok) call?.resolve(m.value);
    else call?.reject(errorFromThread(m.error));
    return true;
  }

  /** The main thread is going away: every call still waiting fails as retryable. */
  failAll(reason: string): void {
    for (const c of this.calls.values()) c.reject(new RepriseError("ingress_stopping", reason, true, 503));
    this.calls.clear();
  }

  /**
   * A thread serves `partitions` on `link` (at start, or restarted after its predecessor exited).
   * The requests that were waiting for a result there are registered again, with the store to be
   * looked at: the result may have been applied while no thread listened.
   */
  linkOpened(partitions: readonly PartitionId[], link: MessageBatcher<ToMain>): void {
    for (const p of partitions) {
      this.direct.set(p, link);
      this.relinking.delete(p);
    }
    for (const [requestId, w] of this.waiters) {
      if (w.link !== null || this.linkFor(w.id) !== link) continue;
      w.link = link;
      link.send({ t: "await", id: w.id, requestId, again: true });
    }
  }

  /**
   * The thread behind `link` is gone: the calls waiting for its answers fail as retryable (whether
   * a dispatch was appended is unknown; a retry with an idempotency key is safe), while the
   * requests whose invocations were durably dispatched keep waiting for the restarted thread.
   */
  linkClosed(link: MessageBatcher<ToMain>, reason: string): void {
    for (const [p, l] of this.direct) {
      if (l !== link) continue;
      this.direct.delete(p);
      this.relinking.add(p);
    }
    for (const [seq, c] of this.calls) {
      if (c.link !== link) continue;
      this.calls.delete(seq);
      c.reject(new RepriseError("partition_thread_gone", reason, true, 503));
    }
    for (const w of this.waiters.values()) if (w.link === link) w.link = null;
  }

  dispatch(...args: DispatcherCalls["dispatch"]["args"]): Promise<void> {
    return this.call(args[0].id, "dispatch", args);
  }

  propose(...args: DispatcherCalls["propose"]["args"]): Promise<void> {
    return this.call(args[0], "propose", args);
  }

  readStatus(...args: DispatcherCalls["readStatus"]["args"]): Promise<DispatcherCalls["readStatus"]["answer"]> {
    return this.call(args[0], "readStatus", args);
  }

  readWithJournal(...args: DispatcherCalls["readWithJournal"]["args"]): Promise<DispatcherCalls["readWithJournal"]["answer"]> {
    return this.call(args[0], "readWithJournal", args);
  }

  awaitResult(id: InvocationId, requestId: string = randomUUID()): ResultWaiter {
    const link = this.relinking.has(this.router.partitionOf(id)) ? null : this.linkFor(id);
    let resolve!: (a: ResultAnswer) => void;
    const answer = new Promise<ResultAnswer>((r) => (resolve = r));
    this.waiters.set(requestId, { id, resolve, link });
    link?.send({ t: "await", id, requestId });
    return {
      requestId,
      answer,
      cancel: () => {
        const w = this.waiters.get(requestId);
        if (!this.waiters.delete(requestId)) return;
        w?.link?.send({ t: "cancel", id, requestId });
      },
    };
  }

  keylessPartitionKey(): PartitionKey {
    return keylessKeyIn(this.router, this.keyless);
  }

  keylessPartitions(): KeylessPlacement {
    return this.keyless;
  }

  private call<K extends DispatcherOp>(about: InvocationId, op: K, args: DispatcherCalls[K]["args"]): Promise<DispatcherCalls[K]["answer"]> {
    const seq = ++this.seq;
    const link = this.linkFor(about);
    return new Promise((resolve, reject) => {
      this.calls.set(seq, { resolve: resolve as (v: unknown) => void, reject, link });
      link.send({ t: "call", seq, op, args });
    });
  }

  /** The port of the partition that owns `about`. */
  private linkFor(about: InvocationId): MessageBatcher<ToMain> {
    return this.direct.get(this.router.partitionOf(about)) ?? this.toMain;
  }
}
