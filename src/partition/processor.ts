import type { Logger } from "pino";
import { isTrimGap, type Bifrost, type LogRecord } from "../bifrost/bifrost.ts";
import type { StoreRestorer } from "../snapshots/bootstrap.ts";
import { TrimGapError } from "../snapshots/errors.ts";
import type { PartitionStore, ReadOnlyPartitionStore, TimerEntry } from "../storage/partition-store.ts";
import { LeaderEpoch, Lsn, LSN_INVALID, type InvocationId, type LogId, type PartitionId } from "../types/ids.ts";
import { errorMessage, UnavailableError } from "../types/errors.ts";
import { BatchingAppender } from "./appender.ts";
import {
  decodeEnvelope,
  decodeOutboxMessage,
  encodeEnvelope,
  outboxDestination,
  type Command,
  type Envelope,
} from "./records.ts";
import type { PartitionReplica, ReplicaProgress } from "./replica.ts";
import type { PartitionRouter } from "./routing.ts";
import { StateMachine, type AppliedResult, type Effect } from "./state-machine/index.ts";
import { TimerQueue } from "./timer-queue.ts";

/** What the leader hands to the invoker; the invoker only reads the store, the apply path writes it. */
export interface LeaderHandle {
  readonly partitionId: PartitionId;
  readonly epoch: LeaderEpoch;
  readonly store: ReadOnlyPartitionStore;
  /** Proposes a leader record (stamped with this epoch); resolves when it is durable in the log. */
  propose(command: Command): Promise<Lsn>;
  /** Resolves once the processor applied everything up to `lsn`. */
  whenApplied(lsn: Lsn): Promise<void>;
}

/** The invoker as seen from a partition: start attempts, forward notifications, stop attempts. */
export interface InvokerPort {
  invoke(leader: LeaderHandle, id: InvocationId): void;
  notify(id: InvocationId, entry: { type: number; payload: Uint8Array }, runAck?: number): void;
  abort(id: InvocationId): void;
  /** After `abort`: the invocation completed or paused; the invoker may read its status (for its trace). */
  invocationEnded?(leader: LeaderHandle, id: InvocationId): void;
  abortPartition(partitionId: PartitionId): void;
}

export interface PartitionProcessorOptions {
  readonly partitionId: PartitionId;
  readonly logId: LogId;
  readonly nodeId: number;
  readonly bifrost: Bifrost;
  readonly store: PartitionStore;
  readonly router: PartitionRouter;
  readonly invoker: InvokerPort;
  /** Called on every replica that applies a result, so waiters on this node are answered. */
  readonly onResult: (applied: AppliedResult) => void;
  /**
   * Called on the leader only, after `onResult`, for waiters on nodes without a replica of this
   * partition: a side effect of leading, like the invoker's, never part of applying.
   */
  readonly relayResult?: (applied: AppliedResult) => void;
  /**
   * Delivers an outbox message to the partition that owns `target`, wherever its leader runs;
   * resolves once it is durable there (the dispatcher).
   */
  readonly deliver: (target: InvocationId, command: Command) => Promise<void>;
  readonly logger: Logger;
  readonly readBatch?: number;
  /**
   * Installs snapshots into the store: before following, when the store is empty, and when the
   * log is trimmed past the store. Without it a trim gap stops the partition.
   */
  readonly snapshots?: StoreRestorer;
}

/**
 * Follows one partition's log, applies each record to the store in a transaction per batch, and —
 * while it is the leader — carries out the effects (invoker, timers, outbox).
 */
export class PartitionProcessor implements PartitionReplica {
  private readonly sm: StateMachine;
  private readonly appender: BatchingAppender;
  private readonly timers: TimerQueue;
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private appliedWaiters: { lsn: Lsn; resolve: () => void; reject: (e: Error) => void }[] = [];
  /** Why applying stopped for good (a record that cannot be applied); the processor never skips it. */
  private halted: Error | null = null;
  /** Mirrors the store's applied LSN; only the apply loop changes either. */
  private applied: Lsn;
  private myEpoch: LeaderEpoch | null = null;
  private leader: LeaderHandle | null = null;
  /** The newest leadership the log announced, as applied here (leader or follower). */
  private announced: { readonly epoch: LeaderEpoch; readonly nodeId: number } | null = null;
  private loop: Promise<void> | null = null;
  private shippingOutbox = new Set<number>();

  constructor(private readonly o: PartitionProcessorOptions) {
    this.log = o.logger.child({ partitionId: o.partitionId });
    this.applied = o.store.read((tx) => tx.appliedLsn());
    this.sm = new StateMachine(this.log);
    this.appender = new BatchingAppender(o.bifrost, o.logId);
    this.timers = new TimerQueue(
      (timer) => this.fireTimer(timer),
      (horizon) => o.store.read((tx) => tx.listTimersDueBefore(horizon)),
    );
  }

  /** Only the apply loop writes the store; everyone else gets its read side. */
  get store(): ReadOnlyPartitionStore {
    return this.o.store.readOnly;
  }

  get partitionId(): PartitionId {
    return this.o.partitionId;
  }

  get appliedLsn(): Lsn {
    return this.applied;
  }

  get isLeader(): boolean {
    return this.leader !== null;
  }

  get leaderEpoch(): LeaderEpoch {
    return this.o.store.read((tx) => tx.leaderEpoch());
  }

  /** Both read in one synchronous step on the thread that applies, so no apply falls between them. */
  progress(): ReplicaProgress {
    return { appliedLsn: this.applied, leaderEpoch: this.leaderEpoch };
  }

  /** The node the log last announced as leader, and its epoch; null before any announcement. */
  get announcedLeader(): { readonly epoch: LeaderEpoch; readonly nodeId: number } | null {
    return this.announced;
  }

  /** A single node: follows the log and claims leadership with an epoch above any seen so far. */
  async start(): Promise<void> {
    this.follow();
    await this.lead(null);
  }

  /** Starts applying the log as a follower (idempotent); leadership comes later, through `lead`. */
  follow(): void {
    this.loop ??= this.followLog();
  }

  /**
   * Claims leadership with `epoch` (null: one above the store's), which the caller obtained so that
   * no other node holds it. Applies the log up to its tail first, so the leader starts from
   * everything its predecessors wrote, then announces itself; the processor leads once the
   * announcement is applied (not if a higher epoch was announced first). In a cluster the caller
   * has made this node the sequencer of the log's tail segment.
   */
  async lead(epoch: LeaderEpoch | null): Promise<void> {
    this.follow();
    if (epoch !== null && this.myEpoch !== null && epoch <= this.myEpoch) return;
    await this.catchUp();
    const claimed = epoch ?? LeaderEpoch(this.leaderEpoch + 1);
    this.myEpoch = claimed;
    const lsn = await this.appendRecord({ t: "announce-leader", epoch: claimed, nodeId: this.o.nodeId });
    await this.whenApplied(lsn);
  }

  /** Resolves once everything in the log up to its tail, as found now, is applied here. */
  async catchUp(): Promise<void> {
    this.follow();
    const tail = await this.o.bifrost.findTail(this.o.logId);
    await this.whenApplied(Lsn(tail - 1));
  }

  /** Gives up leadership (if held) and keeps following: another node leads now. */
  resign(): void {
    this.myEpoch = null;
    this.stepDown();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.stepDown();
    await this.loop?.catch(() => undefined);
  }

  /**
   * Appends a record that carries no leader epoch (ingress invocations, cross-partition messages,
   * operator commands); only on the node that sequences the partition's log.
   */
  appendRecord(command: Command): Promise<Lsn> {
    const env: Envelope = { header: { ts: Date.now() }, command };
    return this.appender.append(encodeEnvelope(env));
  }

  whenApplied(lsn: Lsn): Promise<void> {
    if (this.appliedLsn >= lsn) return Promise.resolve();
    if (this.halted) return Promise.reject(this.halted);
    return new Promise((resolve, reject) => this.appliedWaiters.push({ lsn, resolve, reject }));
  }

  private async followLog(): Promise<void> {
    const { bifrost, logId, store } = this.o;
    const batchSize = this.o.readBatch ?? 256;
    if (this.applied === LSN_INVALID && !(await this.restoreFromSnapshot(LSN_INVALID))) return;
    let reachedTail = false;
    while (!this.abort.signal.aborted) {
      const from = Lsn(this.appliedLsn + 1);
      let entries;
      try {
        // After a short batch, ask for more by waiting (answered at once if there is more) rather
        // than by reading: a read at the tail of a replicated log asks every log server first.
        if (reachedTail) await bifrost.waitForTail(logId, from, this.abort.signal);
        entries = await bifrost.read(logId, from, batchSize);
        reachedTail = entries.length < batchSize;
        if (entries.length === 0) continue;
      } catch (e) {
        if (this.abort.signal.aborted) return;
        this.log.warn({ err: errorMessage(e), from }, "log read failed; retrying");
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const first = entries[0];
      // The log is trimmed past this store: only a snapshot can bring the records in between.
      if (isTrimGap(first)) {
        if (!(await this.restoreFromSnapshot(first.trimGapTo))) return;
        continue;
      }
      // A gap further on is handled when a read starts there.
      const gap = entries.findIndex(isTrimGap);
      const records = (gap < 0 ? entries : entries.slice(0, gap)) as LogRecord[];
      const effects: Effect[] = [];
      const upTo = records[records.length - 1].lsn;
      try {
        store.write((tx) => {
          for (const entry of records) this.sm.apply(tx, entry.lsn, decodeEnvelope(entry.payload, entry.lsn), effects);
          tx.setAppliedLsn(upTo);
        });
      } catch (e) {
        // The batch rolled back. Skipping the record would make this replica diverge from every
        // other one, so the partition stops here and says why.
        return this.halt(e as Error);
      }
      this.handleEffects(effects);
      this.advanceTo(upTo);
    }
  }

  /**
   * Brings the store to `required` (the end of a trim gap; LSN_INVALID: an empty store, only if a
   * snapshot is at hand) from a snapshot. False if the partition halted or is stopping.
   */
  private async restoreFromSnapshot(required: Lsn): Promise<boolean> {
    const { snapshots, partitionId, logId, store } = this.o;
    try {
      if (snapshots === undefined) {
        if (required <= this.applied) return true;
        throw new TrimGapError(partitionId, { from: Lsn(this.applied + 1), to: required }, "no snapshot repository is configured to restore them from");
      }
      this.advanceTo(await snapshots.restore({ partitionId, logId, store, required, signal: this.abort.signal }));
      return true;
    } catch (e) {
      if (!this.abort.signal.aborted) this.halt(e as Error);
      return false;
    }
  }

  /** The store has applied up to `lsn`: waiters up to there are answered. */
  private advanceTo(lsn: Lsn): void {
    this.applied = lsn;
    const ready = this.appliedWaiters.filter((w) => w.lsn <= lsn);
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.lsn > lsn);
    for (const w of ready) w.resolve();
  }

  private halt(e: Error): void {
    this.halted = e;
    this.log.error({ err: errorMessage(e), appliedLsn: this.applied }, "partition processor halted");
    this.stepDown();
    for (const w of this.appliedWaiters) w.reject(e);
    this.appliedWaiters = [];
  }

  private handleEffects(effects: Effect[]): void {
    for (const e of effects) {
      if (e.t === "result") {
        this.o.onResult(e);
        if (this.leader) this.o.relayResult?.(e);
        continue;
      }
      if (e.t === "leader") {
        this.announced = { epoch: e.epoch, nodeId: e.nodeId };
        if (this.myEpoch !== null && e.epoch === this.myEpoch && e.nodeId === this.o.nodeId) this.becomeLeader(e.epoch);
        else if (this.leader && e.epoch > this.leader.epoch) this.stepDown();
        continue;
      }
      if (!this.leader) continue;
      switch (e.t) {
        case "invoke":
          this.o.invoker.invoke(this.leader, e.id);
          break;
        case "notification":
          this.o.invoker.notify(e.id, e.entry, e.runAck);
          break;
        case "abort":
          this.o.invoker.abort(e.id);
          this.o.invoker.invocationEnded?.(this.leader, e.id);
          break;
        case "timer":
          this.timers.add(e.timer);
          break;
        case "outbox":
          this.shipOutbox(e.entry.seq, e.entry.message);
          break;
      }
    }
  }

  private becomeLeader(epoch: LeaderEpoch): void {
    const { store } = this.o;
    this.leader = {
      partitionId: this.o.partitionId,
      epoch,
      store: store.readOnly,
      propose: (command) => this.proposeAsLeader(epoch, command),
      whenApplied: (lsn) => this.whenApplied(lsn),
    };
    this.log.info({ epoch }, "became leader");
    // Effects of records applied before this epoch were never carried out here: rebuild them.
    const { invoked, outbox } = store.read((tx) => ({
      invoked: tx.listInvocations("invoked").map((s) => s.id),
      outbox: tx.listOutbox(),
    }));
    for (const id of invoked) this.o.invoker.invoke(this.leader, id);
    for (const entry of outbox) this.shipOutbox(entry.seq, entry.message);
    this.timers.start();
  }

  private stepDown(): void {
    if (!this.leader) return;
    this.log.info({ epoch: this.leader.epoch }, "stepping down");
    this.leader = null;
    this.timers.stop();
    this.shippingOutbox.clear();
    this.o.invoker.abortPartition(this.o.partitionId);
  }

  private proposeAsLeader(epoch: LeaderEpoch, command: Command): Promise<Lsn> {
    if (this.leader?.epoch !== epoch) {
      return Promise.reject(new UnavailableError(`partition ${this.o.partitionId} leader epoch ${epoch} is no longer current`, "not_leader"));
    }
    return this.appender.append(encodeEnvelope({ header: { ts: Date.now(), epoch }, command }));
  }

  private fireTimer(timer: TimerEntry): void {
    const leader = this.leader;
    if (!leader) return;
    leader.propose({ t: "timer-fired", key: timer.key, fireAt: timer.fireAt }).catch((e) => {
      this.log.warn({ err: errorMessage(e), timer: timer.key }, "proposing timer failed; will retry");
      setTimeout(() => this.fireTimer(timer), 500).unref();
    });
  }

  /** At-least-once delivery to the target partition's log; the target drops duplicates. */
  private shipOutbox(seq: number, message: Uint8Array): void {
    const leader = this.leader;
    if (!leader || this.shippingOutbox.has(seq)) return;
    this.shippingOutbox.add(seq);
    const msg = decodeOutboxMessage(message, seq);
    this.o
      .deliver(outboxDestination(msg), msg)
      .then(() => leader.propose({ t: "outbox-shipped", seq }))
      .catch((e) => {
        this.log.warn({ err: errorMessage(e), seq }, "shipping outbox message failed; retrying");
        setTimeout(() => {
          this.shippingOutbox.delete(seq);
          this.shipOutbox(seq, message);
        }, 500).unref();
      });
  }
}
