import type { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { MessageBatcher } from "../../common/message-batcher.ts";
import { startTypeScriptWorker } from "../../common/typescript-worker.ts";
import type { InvocationDispatcher, ResultWaiter } from "../../partition/dispatcher.ts";
import type { SchemaRegistry } from "../../schema/schema.ts";
import { errorFromWire, errorToWire } from "./dispatcher-proxy.ts";
import type { DispatcherCalls, DispatcherOp, IngressThreadSettings, ToIngress, ToMain } from "./messages.ts";

/** How long stopping waits for the thread to close its server and flush its spans. */
const CLOSE_WAIT_MS = 5_000;

type Handlers = { readonly [K in DispatcherOp]: (d: InvocationDispatcher, args: DispatcherCalls[K]["args"]) => Promise<DispatcherCalls[K]["answer"]> };
const HANDLERS: Handlers = {
  dispatch: (d, args) => d.dispatch(...args),
  propose: (d, args) => d.propose(...args),
  readStatus: (d, args) => d.readStatus(...args),
  readWithJournal: (d, args) => d.readWithJournal(...args),
};

/**
 * The node's side of its ingress thread (`thread-main.ts`): serves the thread's dispatcher calls
 * from the node's own dispatcher, keeps its schema current, and stops it.
 */
export class IngressThread {
  private readonly waiters = new Map<string, ResultWaiter>();
  private schemaVersion = 0;
  /** Schema changes sent and not yet applied there, oldest first (the thread applies them in order). */
  private readonly schemaApplied: { version: number; resolve: () => void }[] = [];
  private closed: (() => void) | null = null;
  /** Set once the thread has exited: nothing sent reaches it any more. */
  private exited = false;
  private readonly toThread: MessageBatcher<ToIngress>;

  private constructor(
    private readonly worker: Worker,
    private readonly dispatcher: InvocationDispatcher,
    private readonly log: Logger,
  ) {
    this.toThread = new MessageBatcher((batch) => worker.postMessage(batch));
  }

  /** Starts the thread and resolves once it listens, with the port it bound (rejects with the reason it could not). */
  static async start(o: {
    readonly settings: Omit<IngressThreadSettings, "schema" | "keyless">;
    readonly registry: SchemaRegistry;
    readonly dispatcher: InvocationDispatcher;
    readonly logger: Logger;
  }): Promise<{ thread: IngressThread; port: number }> {
    const settings: IngressThreadSettings = { ...o.settings, schema: o.registry, keyless: o.dispatcher.keylessPartitions() };
    const worker = startTypeScriptWorker(new URL("./thread-main.ts", import.meta.url), { settings });
    const thread = new IngressThread(worker, o.dispatcher, o.logger.child({ component: "ingress-thread" }));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        worker.on("message", (batch: readonly ToMain[]) => {
          for (const m of batch) {
            if (m.t === "listening") resolve(m.port);
            else if (m.t === "failed") reject(errorFromWire(m.error));
            else thread.receive(m);
          }
        });
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`the ingress thread exited with ${code} before it listened`)));
      });
      worker.on("error", (e) => thread.log.error({ err: e }, "the ingress thread failed; the node no longer takes client requests"));
      worker.once("exit", () => thread.gone());
      return { thread, port };
    } catch (e) {
      await worker.terminate();
      throw e;
    }
  }

  /** Hands the thread a new schema; resolves once it answers requests with it. */
  publishSchema(registry: SchemaRegistry): Promise<void> {
    if (this.exited) return Promise.resolve();
    const version = ++this.schemaVersion;
    const applied = new Promise<void>((resolve) => this.schemaApplied.push({ version, resolve }));
    this.send({ t: "schema", version, registry });
    return applied;
  }

  /** Closes the thread's server (open connections dropped) and waits, bounded, for it to finish. */
  async close(): Promise<void> {
    if (!this.exited) {
      const closed = new Promise<void>((resolve) => (this.closed = resolve));
      this.send({ t: "close" });
      const timer = setTimeout(() => this.closed?.(), CLOSE_WAIT_MS);
      await closed;
      clearTimeout(timer);
    }
    await this.worker.terminate();
    this.gone();
  }

  /** The thread is gone: no request of its waits for a result, and no schema change waits for it. */
  private gone(): void {
    this.exited = true;
    this.closed?.();
    for (const w of this.waiters.values()) w.cancel();
    this.waiters.clear();
    for (const p of this.schemaApplied.splice(0)) p.resolve();
  }

  private receive(m: ToMain): void {
    switch (m.t) {
      case "call":
        void this.serve(m.seq, m.op, m.args);
        return;
      case "await": {
        const waiter = this.dispatcher.awaitResult(m.id, m.requestId);
        this.waiters.set(m.requestId, waiter);
        void waiter.answer.then((answer) => {
          if (this.waiters.delete(m.requestId)) this.send({ t: "result", id: m.id, requestId: m.requestId, answer });
        });
        return;
      }
      case "cancel":
        this.waiters.get(m.requestId)?.cancel();
        this.waiters.delete(m.requestId);
        return;
      case "schema-applied":
        while (this.schemaApplied.length > 0 && this.schemaApplied[0]!.version <= m.version) this.schemaApplied.shift()!.resolve();
        return;
      case "closed":
        this.closed?.();
        return;
      case "listening":
      case "failed":
        return;
    }
  }

  private async serve(seq: number, op: DispatcherOp, args: readonly unknown[]): Promise<void> {
    const handler = HANDLERS[op] as (d: InvocationDispatcher, args: readonly unknown[]) => Promise<unknown>;
    try {
      const value = await handler(this.dispatcher, args);
      this.send({ t: "answer", seq, ok: true, value, keyless: this.dispatcher.keylessPartitions() });
    } catch (e) {
      this.send({ t: "answer", seq, ok: false, error: errorToWire(e), keyless: this.dispatcher.keylessPartitions() });
    }
  }

  private send(m: ToIngress): void {
    this.toThread.send(m);
  }
}
