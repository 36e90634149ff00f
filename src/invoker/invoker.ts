import type { Logger } from "pino";
import { InvocationTracing } from "../common/invocation-tracing.ts";
import { Tracing, spanIdsOf, traceparent } from "../common/tracing.ts";
import type { RetentionDefaults } from "../schema/retention.ts";
import type { SchemaView } from "../schema/schema.ts";
import type { InvokerPort, LeaderHandle } from "../partition/processor.ts";
import type { Command } from "../partition/records.ts";
import type { InvocationId, PartitionId } from "../types/ids.ts";
import { assignCallee } from "./callee.ts";
import type { RequestIdentity } from "../protocol/request-identity.ts";
import { planAttempt } from "./attempt-plan.ts";
import { DeploymentClient } from "./deployment-client.ts";
import { InvocationAttempt } from "./invocation-attempt.ts";
import { decideRetry, effectiveRetryPolicy, type AttemptFailureReport, type RetryPolicy } from "./retry-policy.ts";

export interface InvokerOptions {
  readonly schema: () => SchemaView;
  readonly retry: RetryPolicy;
  readonly inactivityTimeoutMs: number;
  readonly abortTimeoutMs: number;
  /** Retention of callees whose handler sets none. */
  readonly retention: RetentionDefaults;
  /** State sent with an attempt, keys and values, at most; the SDK reads the rest on demand. */
  readonly eagerStateLimitBytes: number;
  /** Signs every request to a deployment. */
  readonly identity?: RequestIdentity;
  /** Attempt spans, and the invocation spans of invocations completed on this leader. */
  readonly tracing?: InvocationTracing;
  readonly logger: Logger;
  /**
   * Attempts running at once, at most (Restate's `concurrent-invocations-limit`); the invocations
   * beyond it wait their turn, first come first served.
   */
  readonly concurrentInvocationsLimit: number;
}

/** Per-invocation bookkeeping on the leader: at most one attempt runs at a time. */
interface InvocationTask {
  readonly leader: LeaderHandle;
  attempt: InvocationAttempt | null;
  retryTimer: NodeJS.Timeout | null;
  /**
   * Failed attempts since this leader took the invocation up (its invoke, or a resume), what the
   * retry policy's max attempts count. An attempt that journaled something does not reset it
   * (Restate's retry iterator lives as long as its invoker task); an attempt that suspended or
   * ended does, as Restate starts a new task for the next invoke.
   */
  failures: number;
  /** Failed attempts since one last journaled something: the StartMessage's retry_count_since_last_stored_entry. */
  failuresSinceProgress: number;
  /** Attempts started by this leader, numbering their spans. */
  attempts: number;
  /** Another `invoke` arrived while an attempt was running (e.g. a resume): run again after it. */
  rerun: boolean;
  lastStartAt?: number;
  lastDeploymentId?: string;
  lastFailure?: string;
  lastFailureAt?: number;
  lastFailureRelatedCommand?: { readonly index?: number; readonly name?: string };
  /** The `x-restate-server` of the last attempt that got an answer. */
  lastAttemptServer?: string;
  nextRetryAt?: number;
  /** The policy of the handler the last attempt ran (the node's until one started). */
  retryPolicy?: RetryPolicy;
}


/** What the invoker knows about an invocation it drives; in memory on the leader, as in Restate. */
export interface InvokerInvocationState {
  readonly inFlight: boolean;
  /**
   * Attempts started since this leader took the invocation up, the running one included: what
   * Restate's sys_invocation_state.retry_count counts (its invoker's start count).
   */
  readonly retryCount: number;
  readonly lastStartAt?: number;
  readonly lastDeploymentId?: string;
  readonly lastFailure?: string;
  /** When the last failed attempt ended. */
  readonly lastFailureAt?: number;
  readonly lastFailureRelatedCommandIndex?: number;
  readonly lastFailureRelatedCommandName?: string;
  /** What the deployment of the last attempt said it runs (`x-restate-server`), from the running one's answer on. */
  readonly lastAttemptServer?: string;
  readonly nextRetryAt?: number;
}

/**
 * Drives invocations on the partitions this node leads: one attempt at a time per invocation,
 * exponential backoff between failed attempts, and a fresh journal read before every attempt.
 * At most `concurrentInvocationsLimit` attempts run at once. Unbounded, a backlog of one-way
 * sends started thousands of attempts together: the event loop then spent its turns on them and
 * the SDK on thousands of open streams, and new requests waited behind both (the compare
 * bench's send p99).
 */
export class Invoker implements InvokerPort {
  private readonly tasks = new Map<InvocationId, InvocationTask>();
  /** Attempts started and not yet ended. */
  private running = 0;
  /** Invocations waiting for a free attempt slot, in the order they asked. */
  private readonly waiting = new Set<InvocationId>();
  private readonly client = new DeploymentClient();
  private readonly log: Logger;
  private readonly tracing: InvocationTracing;

  constructor(private readonly o: InvokerOptions) {
    this.log = o.logger.child({ component: "invoker" });
    this.tracing = o.tracing ?? new InvocationTracing(Tracing.disabled());
  }

  get inFlight(): number {
    return this.tasks.size;
  }

  stateOf(id: InvocationId): InvokerInvocationState | undefined {
    const t = this.tasks.get(id);
    if (!t) return undefined;
    const server = t.attempt?.server ?? t.lastAttemptServer;
    const related = t.lastFailureRelatedCommand;
    return {
      inFlight: t.attempt !== null,
      retryCount: t.failures + (t.attempt !== null ? 1 : 0),
      ...(t.lastStartAt !== undefined ? { lastStartAt: t.lastStartAt } : {}),
      ...(t.lastDeploymentId !== undefined ? { lastDeploymentId: t.lastDeploymentId } : {}),
      ...(t.lastFailure !== undefined ? { lastFailure: t.lastFailure } : {}),
      ...(t.lastFailureAt !== undefined ? { lastFailureAt: t.lastFailureAt } : {}),
      ...(related?.index !== undefined ? { lastFailureRelatedCommandIndex: related.index } : {}),
      ...(related?.name !== undefined ? { lastFailureRelatedCommandName: related.name } : {}),
      ...(server !== undefined ? { lastAttemptServer: server } : {}),
      ...(t.nextRetryAt !== undefined ? { nextRetryAt: t.nextRetryAt } : {}),
    };
  }

  /** Every invocation this invoker drives, with its state: what SQL's `sys_invocation_state` shows. */
  *states(): IterableIterator<[InvocationId, InvokerInvocationState]> {
    for (const id of this.tasks.keys()) yield [id, this.stateOf(id)!];
  }

  invoke(leader: LeaderHandle, id: InvocationId): void {
    const task = this.tasks.get(id);
    if (task?.attempt) {
      task.rerun = true;
      return;
    }
    if (task?.retryTimer) {
      clearTimeout(task.retryTimer);
      task.retryTimer = null;
    }
    const fresh = task ?? { leader, attempt: null, retryTimer: null, failures: 0, failuresSinceProgress: 0, attempts: 0, rerun: false };
    this.tasks.set(id, fresh);
    this.admit(id, fresh);
  }

  notify(id: InvocationId, entry: { type: number; payload: Uint8Array }, runAck?: number): void {
    this.tasks.get(id)?.attempt?.notify(entry, runAck);
  }

  abort(id: InvocationId): void {
    const task = this.tasks.get(id);
    if (!task) return;
    this.tasks.delete(id);
    this.waiting.delete(id);
    if (task.retryTimer) clearTimeout(task.retryTimer);
    task.attempt?.abort();
  }

  /** The leader applied the end of `id`'s run: once it is completed, its invocation span is exported. */
  invocationEnded(leader: LeaderHandle, id: InvocationId): void {
    // Without an exporter there is no span to send: spare the read.
    if (!this.tracing.tracing.enabled) return;
    const status = leader.store.read((tx) => tx.getInvocation(id));
    if (status !== null) this.tracing.invocationCompleted(status);
  }

  abortPartition(partitionId: PartitionId): void {
    for (const [id, task] of this.tasks) if (task.leader.partitionId === partitionId) this.abort(id);
  }

  close(): void {
    for (const id of [...this.tasks.keys()]) this.abort(id);
    this.client.close();
  }

  /** Starts an attempt now if a slot is free and nobody waits for one; otherwise queues the invocation. */
  private admit(id: InvocationId, task: InvocationTask): void {
    if (this.running < this.o.concurrentInvocationsLimit && this.waiting.size === 0) this.startAttempt(id, task);
    else this.waiting.add(id);
  }

  /** A slot came free: the invocations that waited longest take the free ones. */
  private startWaiting(): void {
    for (const id of this.waiting) {
      if (this.running >= this.o.concurrentInvocationsLimit) return;
      this.waiting.delete(id);
      const task = this.tasks.get(id);
      if (task !== undefined && task.attempt === null && task.retryTimer === null) this.startAttempt(id, task);
    }
  }

  private startAttempt(id: InvocationId, task: InvocationTask): void {
    task.rerun = false;
    // Read and register in one synchronous step: every notification applied after this snapshot
    // reaches the attempt through `notify`, none is missed or sent twice.
    const plan = task.leader.store.read((tx) => planAttempt(tx, id, this.o.schema(), this.o.eagerStateLimitBytes));
    if (plan.kind === "gone") {
      this.tasks.delete(id);
      return;
    }
    if (plan.kind === "unavailable") {
      // Restate does not count this one since the last stored entry either: the SDK never saw it.
      this.scheduleRetry(id, task, { message: plan.reason }, false);
      return;
    }
    const { snapshot, deployment, service, handler } = plan;
    task.retryPolicy = effectiveRetryPolicy(this.o.retry, service?.retryPolicy, handler?.retryPolicy);
    const span = this.tracing.attemptStarted(snapshot.status, ++task.attempts, deployment.id);
    const attemptIds = spanIdsOf(span);
    const attempt = new InvocationAttempt({
      leader: task.leader,
      snapshot,
      deployment,
      protocolVersion: plan.protocolVersion,
      pin: plan.pin,
      client: this.client,
      ...(this.o.identity ? { identity: this.o.identity } : {}),
      // New ids and seeds are chosen here, by the leader, and carried in the log record.
      resolveCallee: (call) => {
        const callee = assignCallee(this.o.schema(), call, this.o.retention);
        return "error" in callee ? callee : { ...callee, traceContext: this.tracing.callee(attemptIds) };
      },
      traceparent: traceparent(attemptIds),
      inactivityTimeoutMs: handler?.inactivityTimeoutMs ?? this.o.inactivityTimeoutMs,
      abortTimeoutMs: handler?.abortTimeoutMs ?? this.o.abortTimeoutMs,
      retryCountSinceLastStoredEntry: task.failuresSinceProgress,
      logger: this.log,
    });
    task.attempt = attempt;
    this.running++;
    task.lastStartAt = Date.now();
    task.lastDeploymentId = deployment.id;
    task.nextRetryAt = undefined;
    attempt.start();
    void attempt.outcome.then(async (outcome) => {
      this.tracing.attemptEnded(span, outcome);
      // The deployment is done with this attempt: its slot goes to the next one waiting now, not
      // after the wait below for what it stored to be applied.
      this.running--;
      this.startWaiting();
      // The next attempt must see everything this one stored, so wait until it is applied.
      await attempt.settled();
      if (this.tasks.get(id) !== task) return;
      task.attempt = null;
      task.lastAttemptServer = attempt.server ?? task.lastAttemptServer;
      if (outcome.kind === "failed") {
        if (outcome.madeProgress) task.failuresSinceProgress = 0;
        this.scheduleRetry(id, task, outcome);
        return;
      }
      if (outcome.kind === "aborted") return;
      task.failures = task.failuresSinceProgress = 0;
      if (task.rerun) this.admit(id, task);
      else if (task.leader.store.read((tx) => tx.getInvocation(id))?.status === "invoked") {
        // The log decides, not the attempt: its end or suspension was applied, yet the invocation
        // still runs, so what it journaled did not all get applied (records are dropped when
        // they arrive out of order). Run it again from its journal rather than leave its key held.
        this.scheduleRetry(id, task, { message: `attempt ${outcome.kind}, but the log does not show it; running the invocation again` });
      } else this.tasks.delete(id);
    });
  }

  /**
   * After a failed attempt: retry with backoff, unless the SDK asked to pause or fail (V7 error
   * behavior) or the attempts are used up, when the policy's on-max-attempts pauses or fails it.
   */
  private scheduleRetry(id: InvocationId, task: InvocationTask, failure: AttemptFailureReport, reachedDeployment = true): void {
    task.failures++;
    if (reachedDeployment) task.failuresSinceProgress++;
    task.lastFailure = failure.message;
    task.lastFailureAt = Date.now();
    task.lastFailureRelatedCommand = failure.relatedCommand;
    const decision = decideRetry(task.retryPolicy ?? this.o.retry, task.failures, failure);
    if (decision.t !== "retry") {
      this.tasks.delete(id);
      this.log.warn({ invocationId: id, attempts: task.failures, reason: failure.message }, decision.t === "pause" ? "pausing invocation" : "failing invocation");
      const stop: Command = decision.t === "pause" ? { t: "pause", id } : { t: "fail", id, code: decision.code, message: decision.message };
      task.leader.propose(stop).catch((e) => this.log.warn({ invocationId: id, err: (e as Error).message }, "could not record the end of retries"));
      return;
    }
    const delay = decision.delayMs;
    this.log.debug({ invocationId: id, delay, reason: failure.message }, "retrying invocation");
    task.nextRetryAt = Date.now() + delay;
    task.retryTimer = setTimeout(() => {
      task.retryTimer = null;
      if (this.tasks.get(id) === task) this.admit(id, task);
    }, delay);
  }
}
