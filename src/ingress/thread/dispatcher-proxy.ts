import { randomUUID } from "node:crypto";
import type { MessageBatcher } from "../../common/message-batcher.ts";
import { RepriseError } from "../../types/errors.ts";
import type { InvocationId, PartitionKey } from "../../types/ids.ts";
import { keylessKeyIn, type InvocationDispatcher, type ResultAnswer, type ResultWaiter } from "../../partition/dispatcher.ts";
import type { PartitionRouter } from "../../partition/routing.ts";
import type { DispatcherCalls, DispatcherOp, KeylessPlacement, ToIngress, ToMain, WireError } from "./messages.ts";

/**
 * The main thread's dispatcher as the ingress thread sees it: each asynchronous operation is a
 * numbered call answered over the port; result waiters are registered there under a request id
 * chosen here, so the dispatch that names it in its response sink always finds it. Where a keyless
 * call goes is decided here from the placement the main thread sent with its last answer: a stale
 * one only costs a forward.
 */
export class DispatcherProxy implements InvocationDispatcher {
  private seq = 0;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private readonly waiters = new Map<string, (a: ResultAnswer) => void>();

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
      w?.(m.answer);
      return true;
    }
    if (m.t !== "answer") return false;
    this.keyless = m.keyless;
    const call = this.calls.get(m.seq);
    this.calls.delete(m.seq);
    if (m.ok) call?.resolve(m.value);
    else call?.reject(errorFromWire(m.error));
    return true;
  }

  /** The main thread is going away: every call still waiting fails as retryable. */
  failAll(reason: string): void {
    for (const c of this.calls.values()) c.reject(new RepriseError("ingress_stopping", reason, true, 503));
    this.calls.clear();
  }

  dispatch(...args: DispatcherCalls["dispatch"]["args"]): Promise<void> {
    return this.call("dispatch", args);
  }

  propose(...args: DispatcherCalls["propose"]["args"]): Promise<void> {
    return this.call("propose", args);
  }

  readStatus(...args: DispatcherCalls["readStatus"]["args"]): Promise<DispatcherCalls["readStatus"]["answer"]> {
    return this.call("readStatus", args);
  }

  readWithJournal(...args: DispatcherCalls["readWithJournal"]["args"]): Promise<DispatcherCalls["readWithJournal"]["answer"]> {
    return this.call("readWithJournal", args);
  }

  awaitResult(id: InvocationId, requestId: string = randomUUID()): ResultWaiter {
    const answer = new Promise<ResultAnswer>((resolve) => this.waiters.set(requestId, resolve));
    this.send({ t: "await", id, requestId });
    return {
      requestId,
      answer,
      cancel: () => {
        if (!this.waiters.delete(requestId)) return;
        this.send({ t: "cancel", id, requestId });
      },
    };
  }

  keylessPartitionKey(): PartitionKey {
    return keylessKeyIn(this.router, this.keyless);
  }

  keylessPartitions(): KeylessPlacement {
    return this.keyless;
  }

  private call<K extends DispatcherOp>(op: K, args: DispatcherCalls[K]["args"]): Promise<DispatcherCalls[K]["answer"]> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.calls.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ t: "call", seq, op, args });
    });
  }

  private send(m: ToMain): void {
    this.toMain.send(m);
  }
}

export function errorToWire(e: unknown): WireError {
  if (e instanceof RepriseError) return { code: e.code, message: e.message, retryable: e.retryable, httpStatus: e.httpStatus };
  return { code: "", message: e instanceof Error ? e.message : String(e), retryable: false, httpStatus: 500 };
}

/** The error as the main thread had it, so the ingress answers it the same way: typed, or an untyped internal one. */
export function errorFromWire(e: WireError): Error {
  return e.code === "" ? new Error(e.message) : new RepriseError(e.code, e.message, e.retryable, e.httpStatus);
}
