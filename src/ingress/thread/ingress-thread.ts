import type { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { MessageBatcher } from "../../common/message-batcher.ts";
import { errorFromThread, errorToThread } from "../../common/thread-error.ts";
import { startTypeScriptWorker } from "../../common/typescript-worker.ts";
import type { InvocationDispatcher } from "../../partition/dispatcher.ts";
import type { SchemaRegistry } from "../../schema/schema.ts";
import { DispatcherServer } from "./dispatcher-server.ts";
import type { IngressThreadSettings, PartitionLink, ToIngress, ToMain } from "./messages.ts";

/** How long stopping waits for the thread to close its server and flush its spans. */
const CLOSE_WAIT_MS = 5_000;

/**
 * The node's side of its ingress thread (`thread-main.ts`): serves the thread's dispatcher calls
 * from the node's own dispatcher, keeps its schema current, and stops it.
 */
export class IngressThread {
  private readonly server: DispatcherServer;
  private schemaVersion = 0;
  /** Schema changes sent and not yet applied there, oldest first (the thread applies them in order). */
  private readonly schemaApplied: { version: number; resolve: () => void }[] = [];
  private closed: (() => void) | null = null;
  /** Set once the thread has exited: nothing sent reaches it any more. */
  private exited = false;
  private readonly toThread: MessageBatcher<ToIngress>;

  private constructor(
    private readonly worker: Worker,
    dispatcher: InvocationDispatcher,
    private readonly log: Logger,
  ) {
    this.toThread = new MessageBatcher((batch) => worker.postMessage(batch));
    this.server = new DispatcherServer(dispatcher, (m) => this.send(m), log);
  }

  /** Starts the thread and resolves once it listens, with the port it bound (rejects with the reason it could not). */
  static async start(o: {
    readonly settings: Omit<IngressThreadSettings, "schema" | "keyless" | "partitionLinks">;
    /** Ports to threads that serve partitions themselves; they move to the ingress thread. */
    readonly partitionLinks?: readonly PartitionLink[];
    readonly registry: SchemaRegistry;
    readonly dispatcher: InvocationDispatcher;
    readonly logger: Logger;
  }): Promise<{ thread: IngressThread; port: number }> {
    const partitionLinks = o.partitionLinks ?? [];
    const settings: IngressThreadSettings = { ...o.settings, schema: o.registry, keyless: o.dispatcher.keylessPartitions(), partitionLinks };
    const worker = startTypeScriptWorker(new URL("./thread-main.ts", import.meta.url), { settings }, partitionLinks.map((l) => l.port));
    const thread = new IngressThread(worker, o.dispatcher, o.logger.child({ component: "ingress-thread" }));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        worker.on("message", (batch: readonly ToMain[]) => {
          for (const m of batch) {
            if (m.t === "listening") resolve(m.port);
            else if (m.t === "failed") reject(errorFromThread(m.error));
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

  /** Moves a (restarted) partition thread's link to the thread, which sends those partitions' calls there from now on. */
  addPartitionLink(link: PartitionLink): void {
    if (this.exited) return void link.port.close();
    // Not batched: the port moves with this message.
    const m: ToIngress = { t: "link", link };
    this.worker.postMessage([m], [link.port]);
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
    this.server.cancelAll();
    for (const p of this.schemaApplied.splice(0)) p.resolve();
  }

  private receive(m: ToMain): void {
    if (this.server.receive(m)) return;
    switch (m.t) {
      case "schema-applied":
        while (this.schemaApplied.length > 0 && this.schemaApplied[0]!.version <= m.version) this.schemaApplied.shift()!.resolve();
        return;
      case "closed":
        this.closed?.();
        return;
    }
  }

  private send(m: ToIngress): void {
    this.toThread.send(m);
  }
}
