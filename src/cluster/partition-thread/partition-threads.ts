import { MessageChannel, type Worker } from "node:worker_threads";
import type { PartitionLink } from "../../ingress/thread/messages.ts";
import type { Logger } from "pino";
import { ThreadChannel, type ThreadFrame } from "../../common/thread-channel.ts";
import { errorFromThread } from "../../common/thread-error.ts";
import { startTypeScriptWorker } from "../../common/typescript-worker.ts";
import type { InvokerInvocationState } from "../../invoker/invoker.ts";
import type { MetadataStore } from "../../metadata/metadata-store.ts";
import { serveMetadata } from "../../metadata/thread-metadata-store.ts";
import type { Command } from "../../partition/records.ts";
import type { PartitionRouter } from "../../partition/routing.ts";
import type { SchemaRegistry } from "../../schema/schema.ts";
import { openStoreReader, partitionStorePath } from "../../storage/partition-store.ts";
import { UnavailableError } from "../../types/errors.ts";
import type { InvocationId, LogId, Lsn, PartitionId } from "../../types/ids.ts";
import type { NodeConfig } from "../config.ts";
import type { MainThreadCalls, PartitionThreadCalls, PartitionThreadData, ReplicaLeadership } from "./calls.ts";
import { ThreadBifrost } from "./thread-bifrost.ts";
import { ThreadedReplica } from "./threaded-replica.ts";

/** How long stopping waits for a thread to stop its processors and close its stores and log. */
const CLOSE_WAIT_MS = 10_000;
/** Pause before restarting a thread that exited, doubled for each failure in a row up to the maximum. */
const RESTART_FIRST_DELAY_MS = 500;
const RESTART_MAX_DELAY_MS = 30_000;

type Channel = ThreadChannel<MainThreadCalls, PartitionThreadCalls>;

export interface PartitionThreadsOptions {
  readonly config: NodeConfig;
  readonly baseDir: string;
  readonly nodeId: number;
  readonly router: PartitionRouter;
  readonly metadata: MetadataStore;
  readonly logger: Logger;
}

/** What the threads need from the node once they run. */
export interface PartitionThreadsWiring {
  readonly registry: SchemaRegistry;
  /** An outbox message for a partition on another thread (the node's dispatcher routes it). */
  readonly propose: (target: InvocationId, command: Command) => Promise<void>;
}

/**
 * The threads a single node runs its partitions on: 1 is its main thread alone; more are partition
 * threads (never more than partitions). Configured 0, one per core but one (the ingress thread and
 * the main thread share it), and on 2 cores or fewer the main thread alone: there the two cores are
 * shared with the ingress thread, the SDK services and the load, and two partition threads did
 * about as many calls per second (from 12 % fewer to 4 % more, by run and workload) for 7-16 % more
 * CPU per call and 110-150 MiB more memory.
 */
export function partitionThreadCount(configured: number, partitions: number, cores: number): number {
  const wanted = configured !== 0 ? configured : cores <= 2 ? 1 : cores - 1;
  return Math.max(1, Math.min(wanted, partitions));
}

/**
 * A single node's partitions on worker threads (`thread-main.ts`), spread round-robin: each
 * processor, its store and its log's loglet have their one writer on their thread, and one invoker
 * per thread runs their invocations, so a node uses as many cores as it has threads. The ingress
 * thread reaches each partition thread over a port of its own (`ingressLinks`): requests and their
 * results never pass through the main thread. The main thread keeps the metadata store (served to
 * the threads), admin and its dispatcher (admin's commands); it sees each processor as a
 * `ThreadedReplica` and the logs through `ThreadBifrost`.
 */
export class PartitionThreads {
  readonly replicas = new Map<PartitionId, ThreadedReplica>();
  /** The ingress thread's ends of the threads' ingress links, for `IngressThread.start` (they move there). */
  readonly ingressLinks: PartitionLink[] = [];
  readonly bifrost: ThreadBifrost;
  /** By index; a restarted thread takes its predecessor's place. */
  private readonly threads: { readonly worker: Worker; readonly channel: Channel; readonly partitions: readonly PartitionId[]; exited: boolean }[] = [];
  /** Failures in a row of each thread, for the pause before its next restart. */
  private readonly failures: number[] = [];
  /** What the threads were started with, for restarts; the newest schema replaces its registry. */
  private wiring: PartitionThreadsWiring | null = null;
  private registry: SchemaRegistry | null = null;
  /** Where a restarted thread's ingress link goes once the ingress thread runs; before that, `ingressLinks`. */
  private onIngressLink: ((link: PartitionLink) => void) | null = null;
  private closing = false;
  private readonly channelOfLog = new Map<LogId, Channel>();
  private readonly log: Logger;

  constructor(
    private readonly o: PartitionThreadsOptions,
    private readonly count: number,
  ) {
    this.log = o.logger.child({ component: "partition-threads" });
    this.bifrost = new ThreadBifrost((logId) => this.channelOfLog.get(logId));
  }

  /** Starts every thread; resolves once each one's processors lead, rejects if one could not start. */
  async start(wiring: PartitionThreadsWiring): Promise<void> {
    this.wiring = wiring;
    this.registry = wiring.registry;
    const partitions = this.o.router.partitions;
    const starting: Promise<void>[] = [];
    for (let index = 0; index < this.count; index++) {
      const mine = partitions.filter((_, i) => i % this.count === index);
      starting.push(this.startThread(index, mine, wiring));
    }
    const outcomes = await Promise.allSettled(starting);
    const failed = outcomes.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    this.log.info({ threads: this.count }, "partitions run on their threads");
  }

  /** Hands every thread a new schema; resolves once their invokers use it. */
  async publishSchema(registry: SchemaRegistry): Promise<void> {
    this.registry = registry;
    await Promise.all(this.running().map((t) => t.channel.call("schema", registry)));
  }

  /** Makes the partition's store durable (on its thread, the store's writer); the applied LSN that now is. */
  persist(partition: PartitionId): Promise<Lsn> {
    return this.channelOf(partition).call("persist", partition);
  }

  /** The invokers' in-memory view of the invocations they drive, over every thread. */
  async invokerStates(): Promise<[InvocationId, InvokerInvocationState][]> {
    return (await Promise.all(this.running().map((t) => t.channel.call("invokerStates")))).flat();
  }

  /** Hands each restarted thread's ingress link to the running ingress thread. */
  relinkIngress(handOver: (link: PartitionLink) => void): void {
    this.onIngressLink = handOver;
  }

  /** The running threads' workers, for fault injection (a test terminates one). */
  workers(): readonly Worker[] {
    return this.running().map((t) => t.worker);
  }

  /** Stops every thread (bounded), then closes the read connections. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.threads.map(async (t) => {
        if (!t.exited) {
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)));
          await Promise.race([t.channel.call("close").catch((e: unknown) => this.log.warn({ err: e }, "a partition thread did not close cleanly")), timedOut]);
          clearTimeout(timer);
        }
        await t.worker.terminate();
      }),
    );
    for (const r of this.replicas.values()) r.store.close();
  }

  private running() {
    return this.threads.filter((t) => !t.exited);
  }

  private channelOf(partition: PartitionId): Channel {
    const channel = this.channelOfLog.get(this.o.router.logOf(partition));
    if (channel === undefined) throw new UnavailableError(`partition ${partition} runs on no partition thread`, "partition_not_served");
    return channel;
  }

  private startThread(index: number, partitions: readonly PartitionId[], wiring: PartitionThreadsWiring): Promise<void> {
    const { config, baseDir, nodeId } = this.o;
    const link = new MessageChannel();
    const ingressLink: PartitionLink = { partitions, port: link.port1 };
    const data: PartitionThreadData = { config, baseDir, nodeId, partitions, registry: this.registry ?? wiring.registry, index, ingressPort: link.port2 };
    const worker = startTypeScriptWorker(new URL("./thread-main.ts", import.meta.url), data, [link.port2]);
    const metadata = serveMetadata(this.o.metadata, (watchId, event) => channel.notify("metadataChanged", watchId, event));
    let ready!: (leadership: readonly ReplicaLeadership[]) => void;
    let failed!: (e: Error) => void;
    const started = new Promise<readonly ReplicaLeadership[]>((resolve, reject) => ((ready = resolve), (failed = reject)));
    const channel: Channel = new ThreadChannel<MainThreadCalls, PartitionThreadCalls>(
      (batch) => worker.postMessage(batch),
      {
        ...metadata.handlers,
        propose: (target, command) => wiring.propose(target, command),
        leadership: (replicas) => {
          for (const l of replicas) this.replicas.get(l.partitionId)?.update(l);
        },
        ready: (replicas) => ready(replicas),
        failed: (error) => failed(errorFromThread(error)),
      },
      (op, e) => this.log.error({ err: e, op, thread: index }, "a notice from a partition thread failed"),
    );
    const thread = { worker, channel, partitions, exited: false };
    this.threads[index] = thread;
    for (const p of partitions) this.channelOfLog.set(this.o.router.logOf(p), channel);
    worker.on("message", (batch: readonly ThreadFrame[]) => channel.receive(batch));
    worker.on("error", (e) => {
      this.log.error({ err: e, thread: index, partitions }, "a partition thread failed");
      failed(e);
    });
    worker.once("exit", (code) => {
      thread.exited = true;
      metadata.close();
      const gone = new UnavailableError(`the thread of partitions ${partitions.join(", ")} is gone (exit ${code}); retry the request`, "partition_thread_gone");
      channel.close(gone);
      failed(gone);
      if (this.threads[index] !== thread) return;
      for (const p of partitions) {
        this.channelOfLog.delete(this.o.router.logOf(p));
        this.replicas.get(p)?.update("lost");
      }
      if (!this.closing && this.wiring !== null) this.restartLater(index, partitions);
    });
    return started.then((leadership) => {
      this.failures[index] = 0;
      for (const l of leadership) {
        const replica = this.replicas.get(l.partitionId);
        if (replica !== undefined) replica.update(l);
        else this.replicas.set(l.partitionId, new ThreadedReplica(l.partitionId, openStoreReader(partitionStorePath(baseDir, l.partitionId)), l, (p, command) => this.channelOf(p).call("append", p, command)));
      }
      if (this.onIngressLink === null) this.ingressLinks.push(ingressLink);
      else this.onIngressLink(ingressLink);
    });
  }

  /**
   * A partition thread exited while the node runs (an uncaught error there): its partitions come
   * back on a new thread, which resumes them from their stores and logs as a restarted node would,
   * after a pause that doubles with each failure in a row (a thread that cannot start is not
   * restarted in a tight loop).
   */
  private restartLater(index: number, partitions: readonly PartitionId[]): void {
    const failures = (this.failures[index] = (this.failures[index] ?? 0) + 1);
    const delayMs = Math.min(RESTART_MAX_DELAY_MS, RESTART_FIRST_DELAY_MS * 2 ** (failures - 1));
    this.log.error({ thread: index, partitions, delayMs, failures }, "a partition thread exited; its partitions restart on a new thread");
    const timer = setTimeout(() => {
      if (this.closing || this.wiring === null) return;
      this.startThread(index, partitions, this.wiring).then(
        () => this.log.info({ thread: index, partitions }, "partition thread restarted"),
        (e: unknown) => this.log.error({ err: e, thread: index, partitions }, "a restarted partition thread could not start"),
      );
    }, delayMs);
    timer.unref();
  }
}
