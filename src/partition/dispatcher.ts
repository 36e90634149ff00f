import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { withDeadline } from "../common/deadline.ts";
import { RepriseError, UnavailableError } from "../types/errors.ts";
import type { InvocationResult, InvocationStatus, JournalEntry } from "../types/invocation.ts";
import { partitionKeyOf, type InvocationId, type Lsn, type PartitionId, type PartitionKey } from "../types/ids.ts";
import { randomU64 } from "../types/random-ids.ts";
import type { PartitionReplica } from "./replica.ts";
import { answerFromCompleted, type AppliedResult } from "./state-machine/index.ts";
import type { Command, InvokeRequest } from "./records.ts";
import { randomPartitionKey, type PartitionRouter } from "./routing.ts";

/**
 * How ingress and admin reach partitions: append an Invoke durably, and learn results. Owned here,
 * below them, so a request's path only runs downward: ingress → dispatcher → processor → log.
 */
export interface InvocationDispatcher {
  /** Resolves once the Invoke record is durable in its partition's log. */
  dispatch(request: InvokeRequest): Promise<void>;
  /** Appends a command to the log of the partition that owns `target`; resolves when durable. */
  propose(target: InvocationId, command: Command): Promise<void>;
  /**
   * Registers interest in a result; call before `dispatch` so no result can be missed. A caller
   * that names its request in another thread passes the id it chose (a fresh UUID).
   */
  awaitResult(id: InvocationId, requestId?: string): ResultWaiter;
  /**
   * The invocation's status as a replica of the owning partition has applied it, or null: this
   * node's replica, else (in a cluster) the leader's or another node's.
   */
  readStatus(id: InvocationId): Promise<InvocationStatus | null>;
  /**
   * The invocation's status and journal as a replica of the owning partition has applied them,
   * read in one snapshot so the two agree (the journal's length is the status's); null when it
   * does not exist.
   */
  readWithJournal(id: InvocationId): Promise<InvocationWithJournal | null>;
  /**
   * The partition key of a new invocation that has no key of its own (a plain service call): on a
   * partition this node leads, when it leads any, so the call is appended and its result applied
   * here instead of being forwarded to another node and relayed back; random otherwise.
   */
  keylessPartitionKey(): PartitionKey;
  /** The partitions `keylessPartitionKey` chooses among now: those this node leads, or any when it leads none (or all, on a single node). */
  keylessPartitions(): readonly PartitionId[] | "any";
  readonly nodeId: number;
}

export interface InvocationWithJournal {
  readonly status: InvocationStatus;
  readonly journal: readonly JournalEntry[];
}

/** What a waiting request learns from the partition. */
export interface ResultAnswer {
  readonly result: InvocationResult;
  /** The partition refused this request (a second run of a workflow): `result` says why, it is not the invocation's outcome. */
  readonly refused: boolean;
}

/** One request waiting for an invocation's result on this node. */
export interface ResultWaiter {
  /** Names this waiter in the request's ingress response sink, so an answer for this request alone reaches only it. */
  readonly requestId: string;
  readonly answer: Promise<ResultAnswer>;
  cancel(): void;
}

/** Node-local result waiters, fed by partition processors as they apply results. */
export class ResultWaiters {
  private readonly waiters = new Map<InvocationId, Map<string, (a: ResultAnswer) => void>>();

  register(id: InvocationId, requestId: string = randomUUID()): ResultWaiter {
    let byRequest = this.waiters.get(id);
    if (!byRequest) this.waiters.set(id, (byRequest = new Map()));
    let resolver!: (a: ResultAnswer) => void;
    const answer = new Promise<ResultAnswer>((r) => (resolver = r));
    byRequest.set(requestId, resolver);
    return { requestId, answer, cancel: () => this.remove(id, requestId) };
  }

  /** Answers one waiter (if still waiting), as a relayed result for `requestId` would. */
  answer(id: InvocationId, requestId: string, answer: ResultAnswer): void {
    const w = this.waiters.get(id)?.get(requestId);
    this.remove(id, requestId);
    w?.(answer);
  }

  complete({ id, result, requestId, refused }: AppliedResult): void {
    const byRequest = this.waiters.get(id);
    if (!byRequest) return;
    const answer: ResultAnswer = { result, refused: refused === true };
    if (requestId === undefined) {
      this.waiters.delete(id);
      for (const w of byRequest.values()) w(answer);
      return;
    }
    this.answer(id, requestId, answer);
  }

  private remove(id: InvocationId, requestId: string): void {
    const byRequest = this.waiters.get(id);
    if (!byRequest?.delete(requestId)) return;
    if (byRequest.size === 0) this.waiters.delete(id);
  }
}

/**
 * Where partitions led on other nodes are reached (a cluster); a single node leads every partition
 * and has a replica of each.
 */
export interface RemoteLeaders {
  /** The node the placement names as the partition's leader, if any. */
  leaderOf(partition: PartitionId): number | undefined;
  /** Every node the placement gives a replica of the partition, the leader among them. */
  replicasOf(partition: PartitionId): readonly number[];
  /** Proposes `command` on `node`, which appends it if it leads `partition`; resolves when durable. */
  propose(node: number, partition: PartitionId, command: Command, timeoutMs: number): Promise<void>;
  /** Reads an invocation from `node`'s replica of its partition (`withJournal`: the journal too; else it comes back empty). */
  read(node: number, id: InvocationId, withJournal: boolean, timeoutMs: number): Promise<InvocationWithJournal | null>;
  /**
   * The leader of `partition` applied `applied`: hands it to the nodes whose ingress may be
   * waiting for it without a replica of their own. Fire and forget; it must not block applying.
   */
  relayResult(partition: PartitionId, applied: AppliedResult): void;
}

/** No leader of the partition could take the command in time: retry later (nothing is known to be lost). */
export class NoLeaderError extends UnavailableError {
  constructor(partition: PartitionId, waitedMs: number, cause?: unknown) {
    super(`partition ${partition} has no reachable leader (waited ${waitedMs} ms); retry the request`, "no_leader", { cause });
  }
}

/** This node does not lead the partition (any more): the caller looks up the leader again. */
export class NotLeaderError extends UnavailableError {
  constructor(partition: PartitionId) {
    super(`this node does not lead partition ${partition}`, "not_leader");
  }
}

/** No replica of the partition answered a read in time: retry later. */
export class NoReplicaReachableError extends UnavailableError {
  constructor(partition: PartitionId, waitedMs: number, cause?: unknown) {
    super(`no replica of partition ${partition} answered (waited ${waitedMs} ms); retry the request`, "no_replica_reachable", { cause });
  }
}

export interface DispatcherOptions {
  readonly remote?: RemoteLeaders;
  /** How long a command may wait for a leader to take it before the caller gets a 503. */
  readonly proposeTimeoutMs?: number;
}

const DEFAULT_PROPOSE_TIMEOUT_MS = 10_000;
/** What an attempt of `untilDeadline` returns when it found nothing to try yet. */
const TRY_AGAIN: unique symbol = Symbol("try again");
/** How often a node without a replica of the partition looks for a result it may have missed. */
const RESULT_POLL_MS = 2_000;
const LEADER_RETRY_MS = 100;
/** One replica gets this long to answer a read before the next one is asked. */
const READ_ATTEMPT_MS = 2_000;

/**
 * Routes each command to the leader of the partition that owns the invocation: the local
 * processor when it leads, else (in a cluster) the node the placement names, retried until a
 * leader takes it or the timeout passes. Results are learned from the local replica, which
 * applies them, or, on a node without one, from the leader, which relays them (`relayResult`).
 * Reads go to the local replica, or without one to the leader or another replica.
 */
export class PartitionDispatcher implements InvocationDispatcher {
  /** Node-local waiters; processors feed them through `completeResult` as they apply results. */
  private readonly waiters = new ResultWaiters();
  private readonly proposeTimeoutMs: number;

  constructor(
    readonly nodeId: number,
    private readonly router: PartitionRouter,
    private readonly processors: ReadonlyMap<PartitionId, PartitionReplica>,
    private readonly options: DispatcherOptions = {},
  ) {
    this.proposeTimeoutMs = options.proposeTimeoutMs ?? DEFAULT_PROPOSE_TIMEOUT_MS;
  }

  async dispatch(request: InvokeRequest): Promise<void> {
    await this.propose(request.id, { t: "invoke", request });
  }

  async propose(target: InvocationId, command: Command): Promise<void> {
    const partition = this.router.partitionOf(target);
    const remote = this.options.remote;
    // A single node leads all its partitions from start to stop: no routing, no deadline.
    if (remote === undefined) return void (await this.processors.get(partition)!.appendRecord(command));
    await this.untilDeadline(
      async (remaining) => {
        const local = this.processors.get(partition);
        const leader = remote.leaderOf(partition);
        if (local?.isLeader) return void (await this.appendLocally(local, command, remaining()));
        if (leader !== undefined && leader !== this.nodeId) return await remote.propose(leader, partition, command, remaining());
        // No leader yet, or leadership moving here.
        return TRY_AGAIN;
      },
      (lastError) => new NoLeaderError(partition, this.proposeTimeoutMs, lastError),
    );
  }

  keylessPartitionKey(): PartitionKey {
    return keylessKeyIn(this.router, this.keylessPartitions());
  }

  keylessPartitions(): readonly PartitionId[] | "any" {
    if (this.options.remote === undefined) return "any";
    const led: PartitionId[] = [];
    for (const [partition, processor] of this.processors) if (processor.isLeader) led.push(partition);
    return led.length === 0 ? "any" : led;
  }

  /** A command forwarded by another node: appended only if this node leads the partition. */
  async acceptForwarded(partition: PartitionId, command: Command, timeoutMs: number): Promise<Lsn> {
    const local = this.processors.get(partition);
    if (!local?.isLeader) throw new NotLeaderError(partition);
    return this.appendLocally(local, command, timeoutMs);
  }

  async readStatus(id: InvocationId): Promise<InvocationStatus | null> {
    if (this.readsLocally(id)) return this.status(id);
    return (await this.readRemotely(id, false))?.status ?? null;
  }

  async readWithJournal(id: InvocationId): Promise<InvocationWithJournal | null> {
    if (this.readsLocally(id)) return this.withJournal(id);
    return this.readRemotely(id, true);
  }

  /** The invocation's status as this node's replica has applied it; null also when this node has none. */
  status(id: InvocationId): InvocationStatus | null {
    return this.processorFor(id)?.store.read((tx) => tx.getInvocation(id)) ?? null;
  }

  /** `readWithJournal` on this node's replica; null also when this node has none. */
  withJournal(id: InvocationId): InvocationWithJournal | null {
    return (
      this.processorFor(id)?.store.read((tx) => {
        const status = tx.getInvocation(id);
        return status && { status, journal: tx.getJournal(id) };
      }) ?? null
    );
  }

  awaitResult(id: InvocationId, requestId?: string): ResultWaiter {
    const waiter = this.waiters.register(id, requestId);
    if (this.readsLocally(id)) return waiter;
    // Without a replica the result comes relayed by the leader, which is lost if the leader dies
    // between applying and sending it: look at the status now and then too.
    const poll = setInterval(() => {
      this.readStatus(id).then(
        (status) => {
          const answer = status && answerFromCompleted(status, waiter.requestId);
          if (answer) this.waiters.answer(id, waiter.requestId, answer);
        },
        // Retryable (no replica reachable right now): the next poll asks again.
        () => undefined,
      );
    }, RESULT_POLL_MS);
    poll.unref();
    void waiter.answer.finally(() => clearInterval(poll));
    return {
      ...waiter,
      cancel: () => {
        clearInterval(poll);
        waiter.cancel();
      },
    };
  }

  completeResult(applied: AppliedResult): void {
    this.waiters.complete(applied);
  }

  /** Called by a partition's leader for each result it applies (see `RemoteLeaders.relayResult`). */
  relayResult(partition: PartitionId, applied: AppliedResult): void {
    this.options.remote?.relayResult(partition, applied);
  }

  /** The local replica of the invocation's partition, if this node has one. */
  processorFor(id: InvocationId): PartitionReplica | undefined {
    return this.processors.get(this.router.partitionOfKey(partitionKeyOf(id)));
  }

  private readsLocally(id: InvocationId): boolean {
    return this.options.remote === undefined || this.processorFor(id) !== undefined;
  }

  /** From the leader first (it applied the newest), then the other replicas, until one answers or the timeout passes. */
  private readRemotely(id: InvocationId, withJournal: boolean): Promise<InvocationWithJournal | null> {
    const remote = this.options.remote!;
    const partition = this.router.partitionOf(id);
    return this.untilDeadline(
      async (remaining) => {
        const leader = remote.leaderOf(partition);
        const candidates = new Set([...(leader !== undefined ? [leader] : []), ...remote.replicasOf(partition)]);
        candidates.delete(this.nodeId);
        let failure: RepriseError | null = null;
        for (const node of candidates) {
          if (remaining() <= 0) break;
          try {
            return await remote.read(node, id, withJournal, Math.min(READ_ATTEMPT_MS, remaining()));
          } catch (e) {
            if (!(e instanceof RepriseError && e.retryable)) throw e;
            failure = e;
          }
        }
        if (failure !== null) throw failure;
        return TRY_AGAIN;
      },
      (lastError) => new NoReplicaReachableError(partition, this.proposeTimeoutMs, lastError),
    );
  }

  /**
   * Runs `attempt` (given the time left) until it returns something other than TRY_AGAIN, again
   * after a short pause when it returns TRY_AGAIN or fails retryably (the leader unreachable, a
   * replica slow), until the propose timeout has passed; then fails with `timedOut(last failure)`.
   */
  private async untilDeadline<T>(attempt: (remaining: () => number) => Promise<T | typeof TRY_AGAIN>, timedOut: (lastError: unknown) => Error): Promise<T> {
    const deadline = Date.now() + this.proposeTimeoutMs;
    const remaining = () => deadline - Date.now();
    let lastError: unknown;
    for (;;) {
      if (remaining() <= 0) throw timedOut(lastError);
      try {
        const outcome = await attempt(remaining);
        if (outcome !== TRY_AGAIN) return outcome;
      } catch (e) {
        if (!(e instanceof RepriseError && e.retryable)) throw e;
        lastError = e;
      }
      const left = remaining();
      if (left > 0) await sleep(Math.min(LEADER_RETRY_MS, left));
    }
  }

  /** A leader cut off from its log servers cannot append: give up after the deadline, don't hang. */
  private appendLocally(processor: PartitionReplica, command: Command, timeoutMs: number): Promise<Lsn> {
    return withDeadline(processor.appendRecord(command), timeoutMs, () => new NoLeaderError(processor.partitionId, timeoutMs, new Error("the leader's append did not complete")));
  }
}

/** A random key on one of `partitions` (any key when "any"). */
export function keylessKeyIn(router: PartitionRouter, partitions: readonly PartitionId[] | "any"): PartitionKey {
  if (partitions === "any" || partitions.length === 0) return randomPartitionKey();
  return router.randomKeyIn(partitions[Number(randomU64() % BigInt(partitions.length))]!);
}
