import { setTimeout as sleep } from "node:timers/promises";
import { toWireNodeId } from "../../net/node-id.ts";
import { FencedNodeError, StaleSequencerError } from "../../net/log-server-errors.ts";
import { RepriseError, UnavailableError } from "../../types/errors.ts";
import type { PlainNodeId } from "../../types/ids.ts";
import { LogletOffset, SealedError } from "../loglet.ts";
import { TailCache } from "../tail-cache.ts";
import { backoffMs, noteFailure, type LogletContext } from "./context.ts";
import { localFirstOrder } from "./log-servers.ts";
import { sealQuorum } from "../../net/loglet-params.ts";

interface Append {
  readonly payloads: readonly Uint8Array[];
  readonly resolve: (last: LogletOffset) => void;
  readonly reject: (e: unknown) => void;
}

/** Appends that arrived in the same event-loop turn, replicated as one Store. */
interface Batch {
  readonly seq: number;
  readonly first: number;
  readonly payloads: Uint8Array[];
  /** Each append with the offset of its last record. */
  readonly appends: Array<Append & { readonly last: number }>;
  readonly stored: Set<PlainNodeId>;
  committed: boolean;
  settled: boolean;
}

/** The loglet is not empty on its log servers although this sequencer never wrote to it. */
export class SequencerNotFreshError extends RepriseError {
  constructor(id: string) {
    super("sequencer_not_fresh", `loglet ${id} already has records this sequencer did not write; it must be sealed and replaced`, false, 409);
  }
}

const RELEASE_DELAY_MS = 100;
const HEDGE: unique symbol = Symbol("hedge");

/** A log server knows a newer writer: this sequencer must stop for good. */
const isSuperseded = (e: unknown): e is FencedNodeError | StaleSequencerError => e instanceof FencedNodeError || e instanceof StaleSequencerError;
const MAX_BATCH_RECORDS = 512;
const MAX_BATCH_BYTES = 1 << 20;

export interface SequencerOptions {
  /** Batches replicating at once; further appends wait. */
  readonly maxInflight: number;
  /** Bytes of recently committed records kept to serve reads near the tail without the log servers. */
  readonly tailCacheBytes: number;
}

/**
 * The single writer of a replicated loglet, on the node named in its params. Assigns offsets in
 * call order, stores each batch on `replication` log servers (its own node's first, the others by
 * the spread selector; replacing servers that fail), and acknowledges a batch once it and every
 * earlier batch are stored on a write quorum; the end of that prefix is the global tail, released
 * to the servers.
 */
export class Sequencer {
  private nextOffset = 1;
  private globalTail = 1;
  private batchSeq = 0;
  /** Batches not yet acknowledged, in offset order. */
  private readonly inflight: Batch[] = [];
  /** Appends waiting for the first-append check or for room in `inflight`. */
  private readonly queued: Append[] = [];
  private pumpScheduled = false;
  private readonly tailListeners = new Set<() => void>();
  /** Highest global tail each server was sent (in a Store header or a Release). */
  private readonly tailSent = new Map<PlainNodeId, number>();
  private releaseTimer: NodeJS.Timeout | null = null;
  /** Set once appends are refused: the loglet is sealed or this process is sealing it. */
  private refusal: RepriseError | null = null;
  /** A log server reported the loglet sealed, or this process finished sealing it. */
  private sealedSeen = false;
  /** This process is sealing the loglet: `finishSeal` refuses the batches still undecided. */
  private sealing = false;
  private stopped = false;
  private verified: Promise<void> | null = null;
  private fresh = false;
  /** Committed records, by offset: this sequencer assigned every offset of its loglet. */
  private readonly recent: TailCache;

  constructor(
    private readonly ctx: LogletContext,
    private readonly options: SequencerOptions,
  ) {
    this.recent = new TailCache(1, options.tailCacheBytes);
  }

  /** One past the last acknowledged offset. */
  get tail(): number {
    return this.globalTail;
  }

  get sealed(): boolean {
    return this.sealedSeen;
  }

  /**
   * Offsets follow call order: appends queue here and enter replication strictly first come, first
   * served; those of one event-loop turn share a batch (one Store per server for all of them).
   */
  append(payloads: readonly Uint8Array[]): Promise<LogletOffset> {
    if (this.refusal) return Promise.reject(this.refusal);
    return new Promise((resolve, reject) => {
      this.queued.push({ payloads, resolve, reject });
      if (!this.pumpScheduled) {
        this.pumpScheduled = true;
        setImmediate(() => {
          this.pumpScheduled = false;
          this.pump();
        });
      }
    });
  }

  private pump(): void {
    if (this.verified === null) {
      this.verified = this.verifyFresh().then(
        () => this.pump(),
        (e: unknown) => this.refuseAppends(e),
      );
      return;
    }
    if (!this.fresh) return;
    while (this.queued.length > 0 && this.inflight.length < this.options.maxInflight && !this.refusal) {
      const batch: Batch = { seq: this.batchSeq++, first: this.nextOffset, payloads: [], appends: [], stored: new Set(), committed: false, settled: false };
      let bytes = 0;
      while (this.queued.length > 0) {
        const next = this.queued[0];
        const size = next.payloads.reduce((n, p) => n + p.length, 0);
        if (batch.appends.length > 0 && (batch.payloads.length + next.payloads.length > MAX_BATCH_RECORDS || bytes + size > MAX_BATCH_BYTES)) break;
        this.queued.shift();
        batch.payloads.push(...next.payloads);
        bytes += size;
        batch.appends.push({ ...next, last: batch.first + batch.payloads.length - 1 });
      }
      this.nextOffset += batch.payloads.length;
      this.inflight.push(batch);
      if (batch.payloads.length > 0) {
        void this.replicate(batch);
      } else {
        // Only empty appends: nothing to store; acknowledged in order once everything before is.
        batch.committed = true;
        this.advance();
      }
    }
  }

  /**
   * Committed records from `from` up to `to`, as far as they are still cached (empty if `from` is
   * not) and, after the first, fit in `maxBytes`.
   */
  cachedRecords(from: number, to: number, maxBytes = Infinity): Uint8Array[] {
    return this.recent.range(from, to, maxBytes);
  }

  /**
   * Resolves when the tail moves past `offset`, the loglet is known to be sealed, or (if given)
   * `maxWaitMs` passed; rejects with the signal's reason once it aborts.
   */
  waitForTail(offset: number, signal?: AbortSignal, maxWaitMs?: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const stop = (): void => {
        this.tailListeners.delete(check);
        signal?.removeEventListener("abort", check);
        clearTimeout(timer);
      };
      const check = (): void => {
        if (signal?.aborted) {
          stop();
          reject(signal.reason);
        } else if (this.globalTail > offset || this.sealedSeen) {
          stop();
          resolve();
        }
      };
      const timer = maxWaitMs === undefined ? undefined : setTimeout(() => (stop(), resolve()), maxWaitMs);
      this.tailListeners.add(check);
      signal?.addEventListener("abort", check, { once: true });
      check();
    });
  }

  /**
   * Before this process seals the loglet: refuses new appends and waits up to `graceMs` for the
   * in-flight batches to commit, so the seal leaves as few appends undecided as possible.
   */
  async drain(graceMs: number): Promise<void> {
    this.sealing = true;
    this.refuseAppends();
    const deadline = Date.now() + graceMs;
    while (this.inflight.length > 0 && !this.sealedSeen && Date.now() < deadline && !this.ctx.signal.aborted) {
      await sleep(Math.min(10, deadline - Date.now()));
    }
  }

  /**
   * This process sealed the loglet at `tail`: batches below it were made durable on a write quorum
   * by the tail repair, so they succeed; the others fail with SealedError.
   */
  finishSeal(): void {
    this.sealedSeen = true;
    this.refuseAppends();
    // A batch not committed by now is refused even if the seal kept its records: this sealer's
    // tail is only a proposal (the log's chain decides), and a refused append is retried on the
    // next segment, where the partition drops what it already applied.
    for (const b of this.inflight.splice(0)) this.settle(b, this.refusal);
    this.notifyTail();
  }

  close(): void {
    if (this.releaseTimer !== null) clearTimeout(this.releaseTimer);
    const error = new UnavailableError(`replicated loglet ${this.ctx.id} closed`, "loglet_closed");
    this.refuseAppends(error);
    for (const b of this.inflight.splice(0)) this.settle(b, error);
  }

  /**
   * The first append checks that the loglet is empty on n - r + 1 servers, where any committed
   * record would show. A non-empty loglet was written by another instance with this identity, and
   * its offsets cannot be safely reassigned. The check ends with the (n - r + 1)-th empty answer:
   * a server that takes the call and never answers would otherwise hold up the first append of
   * every new segment for a whole call timeout.
   */
  private async verifyFresh(): Promise<void> {
    const needed = sealQuorum(this.ctx.params);
    for (let attempt = 0; ; attempt++) {
      this.ctx.signal.throwIfAborted();
      if (attempt > 0) await sleep(backoffMs(this.ctx, attempt), undefined, { signal: this.ctx.signal });
      const verdict = await new Promise<"fresh" | "sealed" | "too-few-answers">((resolve, reject) => {
        let empty = 0;
        let pending = this.ctx.params.nodeset.length;
        for (const node of this.ctx.params.nodeset) {
          this.ctx.servers
            .client(node)
            .getLogletInfo({ header: this.ctx.servers.header(this.ctx.id, 0) }, { timeoutMs: this.ctx.timeouts.rpcMs, signal: this.ctx.signal })
            .then(
              ({ state }) => {
                if (state?.authoritative !== true) return;
                if (state.sealed) resolve("sealed");
                else if (state.localTail > 1 || state.knownGlobalTail > 1) reject(new SequencerNotFreshError(this.ctx.id));
                else if (++empty >= needed) resolve("fresh");
              },
              (e: unknown) => {
                if (isSuperseded(e)) reject(e);
                else noteFailure(this.ctx, node, "getLogletInfo", e);
              },
            )
            .finally(() => {
              if (--pending === 0) resolve("too-few-answers");
            });
        }
      });
      if (verdict === "sealed") return this.onSealedByServer();
      if (verdict === "fresh") {
        this.fresh = true;
        return;
      }
    }
  }

  /**
   * Stores the batch on `replication` servers, replacing each server that fails with the next in
   * `localFirstOrder`, and adding the next one (a hedge) whenever `hedgeMs` pass with the batch
   * still short of a write quorum: a server cut off by silently dropped packets answers nothing
   * until the call's timeout, and every append behind the batch would wait that long. A hedged
   * batch may end up on more servers than `replication`, which seal and repair take like any copy.
   * Transient failures are retried (after a pause once every server failed); if so many servers
   * refuse for good (read-only, unknown loglet) that no write quorum is left, the sequencer stops.
   */
  private async replicate(batch: Batch): Promise<void> {
    const { params, servers } = this.ctx;
    const tried = new Set<PlainNodeId>();
    const refused = new Map<PlainNodeId, RepriseError>();
    const inFlight = new Map<PlainNodeId, Promise<void>>();
    let hedges = 0;
    for (let round = 0; !batch.settled && batch.stored.size < params.replication; ) {
      if (this.sealedSeen || this.ctx.signal.aborted) return;
      if (params.nodeset.length - refused.size < params.replication) return this.stop(refused.values().next().value!);
      for (const node of localFirstOrder(params.nodeset, batch.seq, servers)) {
        if (batch.stored.size + inFlight.size >= params.replication + hedges) break;
        if (batch.stored.has(node) || inFlight.has(node) || tried.has(node) || refused.has(node)) continue;
        tried.add(node);
        const attempt = this.storeOn(node, batch).then((refusal) => void (refusal && refused.set(node, refusal)));
        inFlight.set(node, attempt.finally(() => inFlight.delete(node)));
      }
      if (inFlight.size === 0) {
        // Every server failed once for this batch: pause, then try them all again.
        tried.clear();
        hedges = 0;
        await sleep(backoffMs(this.ctx, round++), undefined, { signal: this.ctx.signal }).catch(() => undefined);
        continue;
      }
      const spare = params.nodeset.some((n) => !tried.has(n) && !refused.has(n) && !batch.stored.has(n));
      if (!spare) {
        await Promise.race(inFlight.values());
        continue;
      }
      let timer: NodeJS.Timeout | undefined;
      const hedge = new Promise<typeof HEDGE>((resolve) => (timer = setTimeout(resolve, this.ctx.timeouts.hedgeMs, HEDGE)));
      if ((await Promise.race([...inFlight.values(), hedge])) === HEDGE) hedges++;
      clearTimeout(timer);
    }
    if (batch.settled || batch.stored.size < params.replication) return;
    batch.committed = true;
    this.advance();
  }

  /** Never rejects. Returns the server's refusal if it will not take this loglet's records (not retryable); null otherwise. */
  private async storeOn(node: PlainNodeId, batch: Batch): Promise<RepriseError | null> {
    const { ctx } = this;
    const tail = this.globalTail;
    if (tail > (this.tailSent.get(node) ?? 0)) this.tailSent.set(node, tail);
    try {
      await ctx.servers.client(node).store(
        {
          header: ctx.servers.header(ctx.id, tail),
          sequencer: toWireNodeId(ctx.servers.me),
          firstOffset: batch.first,
          payloads: batch.payloads,
        },
        { timeoutMs: ctx.timeouts.rpcMs, signal: ctx.signal },
      );
      ctx.servers.markOk(node);
      batch.stored.add(node);
      return null;
    } catch (e) {
      if (e instanceof SealedError) this.onSealedByServer();
      else if (isSuperseded(e)) this.stop(e);
      else if (!ctx.signal.aborted) {
        noteFailure(ctx, node, "store", e);
        if (e instanceof RepriseError && !e.retryable) {
          // Route the next batches around it too.
          ctx.servers.markFailed(node);
          return e;
        }
      }
      return null;
    }
  }

  /** Acknowledges the committed prefix of `inflight`, in offset order. */
  private advance(): void {
    let moved = false;
    while (this.inflight.length > 0 && this.inflight[0].committed) {
      const b = this.inflight.shift()!;
      this.globalTail = b.first + b.payloads.length;
      this.recent.push(b.payloads);
      this.settle(b, null);
      moved = true;
    }
    if (!moved) return;
    this.notifyTail();
    this.pump();
    this.release();
  }

  /**
   * Tells servers the new global tail. Stores carry it too, so under load a server usually knows it
   * already; the Release goes out at most every RELEASE_DELAY_MS, only to servers that still lag.
   * Readers near the tail ask the sequencer (`ReadTail`), not the servers: only a reader that cannot
   * reach this node long-polls a server, and it may wait as long for the tail to move there.
   */
  private release(): void {
    if (this.releaseTimer !== null) return;
    this.releaseTimer = setTimeout(() => {
      this.releaseTimer = null;
      for (const node of this.ctx.params.nodeset) {
        const tail = this.globalTail;
        if ((this.tailSent.get(node) ?? 0) >= tail || !this.ctx.servers.healthy(node)) continue;
        this.tailSent.set(node, tail);
        this.ctx.servers
          .client(node)
          .release({ header: this.ctx.servers.header(this.ctx.id, tail) }, { timeoutMs: this.ctx.timeouts.rpcMs, signal: this.ctx.signal })
          .catch((e: unknown) => {
            // Sent again with the next advance.
            this.tailSent.delete(node);
            if (!this.ctx.signal.aborted) noteFailure(this.ctx, node, "release", e);
          });
      }
    }, RELEASE_DELAY_MS);
  }

  /**
   * Another process sealed the loglet. Unless this process is sealing it too, undecided batches
   * fail with SealedError: whether they made it below the sealed tail is decided by the sealer
   * (such an append may be in the log — at least once, like any append whose answer was lost).
   */
  private onSealedByServer(): void {
    if (this.sealedSeen) return;
    this.sealedSeen = true;
    this.refuseAppends();
    if (!this.sealing) for (const b of this.inflight.splice(0)) this.settle(b, this.refusal);
    this.notifyTail();
  }

  /**
   * The sequencer cannot go on: a log server knows a newer writer, or too few servers take this
   * loglet's records. Undecided and future appends fail with `error`; the log must be reconfigured.
   */
  private stop(error: RepriseError): void {
    if (this.stopped) return;
    this.stopped = true;
    this.ctx.log.error({ err: error.message }, "sequencer stopped; refusing appends");
    this.refusal = error;
    this.refuseAppends(error);
    for (const b of this.inflight.splice(0)) this.settle(b, error);
  }

  /** From now on appends fail with `error` (SealedError unless given), including those still queued. */
  private refuseAppends(error?: unknown): void {
    this.refusal ??= error instanceof RepriseError ? error : new SealedError(this.ctx.id);
    for (const a of this.queued.splice(0)) a.reject(this.refusal);
  }

  /** Resolves the batch's appends (`error` null), or rejects them all with `error`. */
  private settle(b: Batch, error: unknown): void {
    if (b.settled) return;
    b.settled = true;
    for (const a of b.appends) {
      if (error === null) a.resolve(LogletOffset(a.last));
      else a.reject(error);
    }
  }

  private notifyTail(): void {
    for (const l of [...this.tailListeners]) l();
  }
}
