import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { LogletState } from "../../net/gen/log_server_pb.ts";
import type { Logger } from "../../common/logger.ts";
import { RepriseError, UnavailableError } from "../../types/errors.ts";
import { formatNodeId, type GenerationalNodeId, type PlainNodeId } from "../../types/ids.ts";
import { LogletOffset, type Loglet, type LogletEntry, type LogletTail } from "../loglet.ts";
import { backoffMs, DEFAULT_TIMEOUTS, LogletClosedError, noteFailure, type LogletContext, type ReplicatedTimeouts } from "./context.ts";
import { localFirstOrder, type LogServers } from "./log-servers.ts";
import { sealQuorum, type ReplicatedLogletParams } from "../../net/loglet-params.ts";
import { collectRecords, READ_BATCH_BYTES, RecordUnavailableError } from "./records.ts";
import { determineSealedTail, sealOnServers } from "./seal.ts";
import { Sequencer } from "./sequencer.ts";
import { DEFAULT_TAIL_CACHE_BYTES, TailCache } from "../tail-cache.ts";

export interface ReplicatedLogletOptions {
  readonly timeouts?: Partial<ReplicatedTimeouts>;
  /** Batches the sequencer replicates at once. */
  readonly maxInflight?: number;
  /** Bytes of records the sequencer keeps after committing them, for readers near the tail (default 8 MiB). */
  readonly tailCacheBytes?: number;
  /** How long a seal started by the writer waits for in-flight batches to commit first. */
  readonly sealDrainMs?: number;
  /** Server long-poll when a reader waits for the tail. */
  readonly waitPollMs?: number;
}

/**
 * Appends go to the loglet's sequencer only; a node that is not it must reconfigure the log to
 * write. Retryable: it means the log moved to another writer (a new partition leader), and the
 * caller's retry goes to that writer.
 */
export class NotSequencerError extends RepriseError {
  constructor(id: string, sequencer: GenerationalNodeId, me: GenerationalNodeId) {
    super("not_sequencer", `loglet ${id}: this node (${formatNodeId(me)}) is not its sequencer ${formatNodeId(sequencer)}`, true, 503);
  }
}

const TRIM_ROUNDS = 10;
/** Records a reader asks the sequencer for at once: a partition processor's read batch. */
const TAIL_READ_RECORDS = 256;
/** After the sequencer's process said it does not sequence this loglet (yet), ask the log servers for this long. */
const NOT_SERVING_BACKOFF_MS = 1_000;

/** What the sequencer's process answers a reader right behind the tail (`ReadTail`). */
export interface TailRead {
  /** False when this process does not sequence the loglet. */
  readonly serving: boolean;
  readonly globalTail: number;
  readonly sealed: boolean;
  /** Committed records from the asked offset on, consecutive. */
  readonly records: readonly Uint8Array[];
}

/**
 * A loglet replicated over log servers. On the node named as sequencer it appends; on every node
 * it reads (filling gaps of one replica from the others), finds the tail, seals and trims.
 */
export class ReplicatedLoglet implements Loglet {
  private readonly ctx: LogletContext;
  private readonly sequencer: Sequencer | null;
  private readonly closing = new AbortController();
  private readonly sealDrainMs: number;
  private readonly waitPollMs: number;
  /** Highest tail known to be committed (from the sequencer or the servers' Release view). */
  private knownTail = 1;
  private trimPoint = 0;
  /**
   * The tail this instance determined when it sealed the loglet (or found it sealed). Another
   * sealer may determine a different one (records on too few servers are ambiguous): only the tail
   * the log's chain records (`settleTail`) is final, so reads never go past the committed tail on
   * this alone.
   */
  private sealedTail: number | null = null;
  /** The loglet's final tail as the log's chain recorded it (the next segment's base); null until told. */
  private settledTail: number | null = null;
  private sealing: Promise<LogletTail> | null = null;
  /** Long-polls in a row that saw the tail not move: the next goes further down the read order. */
  private pollMisses = 0;
  /**
   * On a reader: committed records the sequencer sent with its tail, for the read that follows the
   * wait. Dropped as they are read.
   */
  private fetched: TailCache | null = null;
  /** Until when the sequencer's process is not asked: it said it does not sequence this loglet. */
  private sequencerNotServingUntil = 0;

  constructor(
    readonly id: string,
    readonly params: ReplicatedLogletParams,
    servers: LogServers,
    log: Logger,
    options: ReplicatedLogletOptions = {},
  ) {
    // Every call in flight listens on the loglet's signal; hundreds at once are expected.
    setMaxListeners(0, this.closing.signal);
    this.ctx = {
      id,
      params,
      servers,
      log: log.child({ loglet: id }),
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
      signal: this.closing.signal,
    };
    const me = servers.me;
    const isSequencer = me.id === params.sequencer.id && me.generation === params.sequencer.generation;
    this.sequencer = isSequencer
      ? new Sequencer(this.ctx, { maxInflight: options.maxInflight ?? 256, tailCacheBytes: options.tailCacheBytes ?? DEFAULT_TAIL_CACHE_BYTES })
      : null;
    this.sealDrainMs = options.sealDrainMs ?? 2_000;
    this.waitPollMs = options.waitPollMs ?? 1_000;
  }

  append(payloads: readonly Uint8Array[]): Promise<LogletOffset> {
    if (this.closing.signal.aborted) return Promise.reject(new LogletClosedError(this.id));
    if (!this.sequencer) return Promise.reject(new NotSequencerError(this.id, this.params.sequencer, this.ctx.servers.me));
    return this.sequencer.append(payloads);
  }

  async read(from: LogletOffset, limit: number): Promise<LogletEntry[]> {
    this.checkOpen();
    let tail = this.readableTail();
    if (from >= tail && this.settledTail === null) {
      await this.findTail();
      tail = this.readableTail();
    }
    if (from >= tail || limit <= 0) return [];
    if (from <= this.trimPoint) return [{ offset: from, trimGapTo: LogletOffset(Math.min(this.trimPoint, tail - 1)) }];
    const end = Math.min(tail - 1, from + limit - 1);
    const cached = this.sequencer?.cachedRecords(from, end) ?? this.takeFetched(from, end);
    if (cached.length > 0) return cached.map((payload, i) => ({ offset: LogletOffset(from + i), payload }));
    const order = localFirstOrder(this.params.nodeset, from, this.ctx.servers);
    const all = (r: Map<number, Uint8Array>): boolean => {
      for (let o = from; o <= end; o++) if (!r.has(o)) return false;
      return true;
    };
    const got = await collectRecords(this.ctx, from, end, order, tail, all);
    this.observe(got.knownGlobalTail, got.trimPoint);
    if (from <= this.trimPoint) return [{ offset: from, trimGapTo: LogletOffset(Math.min(this.trimPoint, tail - 1)) }];
    const out: LogletEntry[] = [];
    for (let o = from; o <= end && got.records.has(o); o++) out.push({ offset: LogletOffset(o), payload: got.records.get(o)! });
    if (out.length === 0) throw new RecordUnavailableError(this.id, from, got.errors);
    return out;
  }

  tailPast(offset: LogletOffset): LogletTail | null {
    if (this.closing.signal.aborted) return null;
    if (this.sealedTail !== null) return { nextOffset: LogletOffset(this.readableTail()), sealed: true };
    // A sealed sequencer's tail is not final until the seal settles: waitForTail asks findTail.
    const tail = this.sequencer ? (this.sequencer.sealed ? 0 : this.sequencer.tail) : this.knownTail;
    return tail > offset ? { nextOffset: LogletOffset(tail), sealed: false } : null;
  }

  async waitForTail(offset: LogletOffset, signal?: AbortSignal): Promise<LogletTail> {
    const now = this.tailPast(offset);
    if (now !== null) return now;
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    for (;;) {
      stop.throwIfAborted();
      if (this.sealedTail !== null) return { nextOffset: LogletOffset(this.readableTail()), sealed: true };
      if (this.sequencer) {
        await this.sequencer.waitForTail(offset, stop);
        return this.sequencer.sealed ? this.findTail() : { nextOffset: LogletOffset(this.sequencer.tail), sealed: false };
      }
      if (this.knownTail > offset) return { nextOffset: LogletOffset(this.knownTail), sealed: false };
      const fromSequencer = await this.waitOnSequencer(offset, stop);
      if (fromSequencer === "sealed") return { nextOffset: LogletOffset(this.readableTail()), sealed: true };
      if (fromSequencer === "answered") continue;
      // Long-poll one server at a time; its known global tail moves with the sequencer's Release.
      // This node's own server first (in process); after a poll that saw no progress, the next one,
      // so a server the sequencer stopped telling does not hold the reader up.
      const order = localFirstOrder(this.params.nodeset, 0, this.ctx.servers);
      const node = order[this.pollMisses % order.length];
      try {
        const res = await this.ctx.servers
          .client(node)
          .waitForTail(
            { header: this.ctx.servers.header(this.id, this.knownTail), globalTailAtLeast: offset + 1, maxWaitMs: this.waitPollMs },
            { timeoutMs: this.waitPollMs + this.ctx.timeouts.rpcMs, signal: stop },
          );
        if (res.state) this.observe(res.state.knownGlobalTail, res.state.trimPoint);
        this.pollMisses = this.knownTail > offset ? 0 : this.pollMisses + 1;
        if (res.state?.sealed) {
          await this.seal();
          return { nextOffset: LogletOffset(this.readableTail()), sealed: true };
        }
      } catch (e) {
        if (stop.aborted) throw e;
        this.pollMisses++;
        noteFailure(this.ctx, node, "waitForTail", e);
        await sleep(backoffMs(this.ctx, 2), undefined, { signal: stop });
      }
    }
  }

  /**
   * On the sequencer's process: committed records from `from` once the tail passes it (or after
   * `maxWaitMs`, or once sealed), from the sequencer's cache.
   */
  async serveTailRead(from: number, maxRecords: number, maxBytes: number, maxWaitMs: number, signal: AbortSignal): Promise<TailRead> {
    const sequencer = this.sequencer;
    if (sequencer === null || this.closing.signal.aborted) return { serving: false, globalTail: 0, sealed: false, records: [] };
    // A caller that gave up gets no answer anyway: its abort only ends the wait.
    if (maxWaitMs > 0) await sequencer.waitForTail(from, signal, maxWaitMs).catch(() => undefined);
    const to = Math.min(sequencer.tail - 1, from + Math.max(maxRecords, 1) - 1);
    return { serving: true, globalTail: sequencer.tail, sealed: sequencer.sealed, records: sequencer.cachedRecords(from, to, maxBytes) };
  }

  /**
   * A reader waiting for `offset` asks the sequencer's process first: it answers as soon as the
   * tail passes, with the records, where a log server learns the tail only from the next store or
   * release. "answered": the tail or records were learnt (or the wait ran out); "sealed": the
   * loglet is sealed (and this instance has sealed it too); "skipped": the log servers must be
   * asked instead (the sequencer is unreachable or does not sequence this loglet).
   */
  private async waitOnSequencer(offset: number, stop: AbortSignal): Promise<"answered" | "sealed" | "skipped"> {
    const node = this.params.sequencer.id;
    if (Date.now() < this.sequencerNotServingUntil || !this.ctx.servers.healthy(node)) return "skipped";
    try {
      const res = await this.ctx.servers.sequencer(node).readTail(
        { header: this.ctx.servers.header(this.id, this.knownTail), fromOffset: offset, maxRecords: TAIL_READ_RECORDS, maxBytes: READ_BATCH_BYTES, maxWaitMs: this.waitPollMs },
        { timeoutMs: this.waitPollMs + this.ctx.timeouts.rpcMs, signal: stop },
      );
      if (!res.serving) {
        this.sequencerNotServingUntil = Date.now() + NOT_SERVING_BACKOFF_MS;
        return "skipped";
      }
      this.keepFetched(offset, res.records.map((r) => r.payload));
      this.observe(res.globalTail, 0);
      if (!res.sealed) return "answered";
      await this.seal();
      return "sealed";
    } catch (e) {
      if (stop.aborted) throw e;
      noteFailure(this.ctx, node, "readTail", e);
      return "skipped";
    }
  }

  private keepFetched(from: number, payloads: readonly Uint8Array[]): void {
    if (payloads.length === 0) return;
    if (this.fetched === null || this.fetched.nextOffset !== from) this.fetched = new TailCache(from, Infinity);
    this.fetched.push(payloads);
  }

  /** Fetched records from `from` up to `to` (empty unless `from` is fetched); those below `from` are dropped. */
  private takeFetched(from: number, to: number): Uint8Array[] {
    if (this.fetched === null) return [];
    this.fetched.evictThrough(from - 1);
    const out = this.fetched.range(from, to);
    if (this.fetched.firstOffset === this.fetched.nextOffset) this.fetched = null;
    return out;
  }

  /**
   * The sequencer's tail; elsewhere the highest global tail any server reports (a lower bound of
   * the committed tail). If a server reports the loglet sealed, finishes the seal (its records are
   * repaired) and reports it sealed, with the tail readers may read to: the chain's final tail once
   * it is settled, the committed tail until then.
   */
  async findTail(): Promise<LogletTail> {
    this.checkOpen();
    if (this.sealedTail !== null) return { nextOffset: LogletOffset(this.readableTail()), sealed: true };
    if (this.sequencer && !this.sequencer.sealed) return { nextOffset: LogletOffset(this.sequencer.tail), sealed: false };
    const states = await this.infoFromServers();
    if (this.sequencer?.sealed || states.some((s) => s.sealed)) {
      await this.seal();
      return { nextOffset: LogletOffset(this.readableTail()), sealed: true };
    }
    return { nextOffset: LogletOffset(this.knownTail), sealed: false };
  }

  /** The log's chain fixed this loglet's end: records below `tail` are the log's, and readable. */
  settleTail(tail: LogletOffset): void {
    this.settledTail = tail;
  }

  /**
   * Seals on n - r + 1 log servers (retrying until it can), then determines the tail: records that
   * may have been acknowledged are repaired to full replication first. The tail returned is this
   * sealer's proposal for the next segment's base; the chain decides (see `settleTail`).
   * Idempotent; concurrent callers share one attempt.
   */
  seal(): Promise<LogletTail> {
    if (this.sealedTail !== null) return Promise.resolve({ nextOffset: LogletOffset(this.sealedTail), sealed: true });
    this.sealing ??= (async () => {
      this.checkOpen();
      await this.sequencer?.drain(this.sealDrainMs);
      const committed = Math.max(this.committedTail(), 1);
      const sealed = await sealOnServers(this.ctx, committed);
      // What the sealed servers know to be committed is readable now; the rest waits for the chain.
      for (const state of sealed.values()) this.observe(state.knownGlobalTail, state.trimPoint);
      const tail = await determineSealedTail(this.ctx, sealed, committed);
      this.sealedTail = tail;
      this.knownTail = Math.max(this.knownTail, committed);
      this.sequencer?.finishSeal();
      return { nextOffset: LogletOffset(tail), sealed: true };
    })().finally(() => {
      // Only a failed attempt (closed loglet) is forgotten; a finished one is answered from `sealedTail`.
      this.sealing = null;
    });
    return this.sealing;
  }

  /** Trims every server up to `upTo` (clamped to the committed tail); done once n - r + 1 servers confirmed. */
  async trim(upTo: LogletOffset): Promise<void> {
    const tail = (await this.findTail()).nextOffset;
    const point = Math.min(upTo, tail - 1);
    if (point <= this.trimPoint) return;
    const confirmed = new Set<PlainNodeId>();
    let lastError: unknown = null;
    for (let round = 0; round < TRIM_ROUNDS && confirmed.size < sealQuorum(this.params); round++) {
      if (round > 0) await sleep(backoffMs(this.ctx, round), undefined, { signal: this.closing.signal });
      await Promise.all(
        this.params.nodeset
          .filter((n) => !confirmed.has(n))
          .map(async (node) => {
            try {
              await this.ctx.servers
                .client(node)
                .trim({ header: this.ctx.servers.header(this.id, tail), trimPoint: point }, { timeoutMs: this.ctx.timeouts.rpcMs, signal: this.closing.signal });
              confirmed.add(node);
            } catch (e) {
              lastError = noteFailure(this.ctx, node, "trim", e);
            }
          }),
      );
    }
    if (confirmed.size < sealQuorum(this.params)) {
      throw new UnavailableError(`loglet ${this.id}: trim to ${point} confirmed by ${confirmed.size} servers only`, "trim_incomplete", { cause: lastError });
    }
    this.trimPoint = Math.max(this.trimPoint, point);
  }

  async getTrimPoint(): Promise<LogletOffset> {
    await this.infoFromServers();
    return LogletOffset(this.trimPoint);
  }

  async close(): Promise<void> {
    this.closing.abort(new LogletClosedError(this.id));
    this.sequencer?.close();
  }

  private committedTail(): number {
    return this.sequencer && !this.sequencer.sealed ? this.sequencer.tail : this.knownTail;
  }

  /** Offsets below this may be read: the chain's final tail once settled, else the committed tail. */
  private readableTail(): number {
    return this.settledTail ?? this.committedTail();
  }

  private observe(globalTail: number, trimPoint: number): void {
    this.knownTail = Math.max(this.knownTail, globalTail);
    this.trimPoint = Math.max(this.trimPoint, trimPoint);
  }

  /** GetLogletInfo from every server; at least one must answer. */
  private async infoFromServers(): Promise<LogletState[]> {
    const errors: unknown[] = [];
    const states = await Promise.all(
      this.params.nodeset.map((node) =>
        this.ctx.servers
          .client(node)
          .getLogletInfo({ header: this.ctx.servers.header(this.id, this.knownTail) }, { timeoutMs: this.ctx.timeouts.rpcMs, signal: this.closing.signal })
          .then((r) => r.state ?? null)
          .catch((e: unknown) => (errors.push(noteFailure(this.ctx, node, "getLogletInfo", e)), null)),
      ),
    );
    const answered = states.filter((s): s is LogletState => s !== null);
    if (answered.length === 0) throw new UnavailableError(`loglet ${this.id}: no log server answered`, "log_servers_unavailable", { cause: errors[0] });
    for (const s of answered) this.observe(s.knownGlobalTail, s.trimPoint);
    return answered;
  }

  private checkOpen(): void {
    if (this.closing.signal.aborted) throw new LogletClosedError(this.id);
  }
}
