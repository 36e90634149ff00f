import { rootLogger, type Logger } from "../common/logger.ts";
import {
  decodeDocument,
  encodeDocument,
  METADATA_KEYS,
  type LogChain,
  type Logs,
  type ProviderKind,
  type SegmentConfig,
} from "../metadata/documents.ts";
import { PreconditionFailedError, type MetadataStore } from "../metadata/metadata-store.ts";
import { RepriseError, UnavailableError } from "../types/errors.ts";
import { Lsn, SegmentIndex, type LogId, type Version } from "../types/ids.ts";
import type { Bifrost, LogEntry, LogTail } from "./bifrost.ts";
import { LogletOffset, SealedError, type Loglet, type LogletEntry } from "./loglet.ts";
import type { LogletProvider } from "./loglet-provider.ts";

export interface BifrostOptions {
  /** How long an append that found its segment sealed waits for the chain to get a new tail segment. */
  readonly sealedAppendTimeoutMs?: number;
  /**
   * Params of the first segment of a new log, whose provider is the `Logs` document's default
   * (`local` when there is no document yet). Local segments need none; a cluster node supplies the
   * replicated ones (sequencer, nodeset, replication).
   */
  readonly newSegmentParams?: (provider: ProviderKind, logId: LogId) => Promise<Readonly<Record<string, unknown>>>;
  readonly logger?: Logger;
}

/** The segment that `sealAndExtend` appends to a chain. */
export interface NewSegment {
  readonly provider: ProviderKind;
  readonly params: Readonly<Record<string, unknown>>;
  /**
   * Index of the segment the caller means to seal. If the chain already moved past it, the call
   * only returns the segment that followed it, so a retried reconfiguration never seals twice.
   * Defaults to the current tail segment.
   */
  readonly sealIndex?: number;
}

export class LogProviderUnavailableError extends RepriseError {
  constructor(kind: ProviderKind) {
    super("log_provider_unavailable", `no loglet provider of kind '${kind}' is registered on this node`, false, 500);
  }
}

const MAX_CAS_ATTEMPTS = 20;
const DEFAULT_SEALED_APPEND_TIMEOUT_MS = 30_000;
/** While waiting for a reconfiguration, re-read the chain this often in case a watch event was missed. */
const CHAIN_REREAD_MS = 1_000;
/**
 * What a settled tail wait aborts its losing half with. `abort()` without a reason builds a
 * DOMException, stack trace included, and a follower settles one wait per batch it applies.
 */
const WAIT_SETTLED = new UnavailableError("tail wait settled", "tail_wait_settled");

interface Tail {
  readonly segment: SegmentConfig;
  readonly loglet: Loglet;
  /** Appends handed to the loglet so far: the issue number of the next one. */
  issued: number;
  /** Appends handed to the loglet and not answered yet. */
  inFlight: number;
  /** Appends the loglet refused because it was sealed, with their issue numbers: they go first on the next segment. */
  readonly refused: { readonly n: number; readonly append: QueuedAppend }[];
  /** Woken whenever an append to this loglet is answered. */
  readonly answered: Set<() => void>;
  /** Whether this node sealed the loglet after the chain replaced it, to have its appends answered. */
  sealRequested: boolean;
}

interface LogState {
  chain: LogChain;
  /** The open tail loglet; null until opened and again after the chain gets a new tail segment. */
  tail: Tail | null;
  /**
   * The loglet appends were last handed to. Until its appends are all answered and the ones it
   * refused are re-appended, appends to a newer tail wait in the backlog: otherwise a later append
   * could land on the next segment before an earlier one that the seal refused.
   */
  appendingTo: Tail | null;
  opening: Promise<Tail> | null;
  chainWaiters: Set<() => void>;
}

interface QueuedAppend {
  readonly payloads: readonly Uint8Array[];
  readonly resolve: (lsn: Lsn) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * Logs as chains of loglet segments, described by the `Logs` metadata document. LSN of a record =
 * its segment's baseLsn + loglet offset - 1, so LSNs stay dense across segments.
 */
export class BifrostImpl implements Bifrost {
  private readonly providers = new Map<ProviderKind, LogletProvider>();
  private readonly log: Logger;
  private readonly sealedAppendTimeoutMs: number;
  private readonly newSegmentParams: NonNullable<BifrostOptions["newSegmentParams"]>;
  private logs: { readonly version: Version; readonly doc: Logs } | null = null;
  /** When the `Logs` document was last read or delivered by the watch (ms, `Date.now()`). */
  private logsSeenAt = -Infinity;
  private readonly states = new Map<LogId, LogState>();
  private readonly loading = new Map<LogId, Promise<LogState>>();
  /**
   * Appends that arrived while their log's tail loglet was not open yet, or while appends refused
   * by a sealed tail wait to be re-appended. They are handed to the loglet in arrival order, after
   * the refused ones, so call order stays log order as `BatchingAppender` relies on.
   */
  private readonly backlogs = new Map<LogId, QueuedAppend[]>();
  private readonly unwatch: () => void;
  private closed = false;

  constructor(
    private readonly metadata: MetadataStore,
    providers: readonly LogletProvider[],
    options: BifrostOptions = {},
  ) {
    for (const p of providers) this.registerProvider(p);
    this.log = (options.logger ?? rootLogger).child({ component: "bifrost" });
    this.sealedAppendTimeoutMs = options.sealedAppendTimeoutMs ?? DEFAULT_SEALED_APPEND_TIMEOUT_MS;
    this.newSegmentParams = options.newSegmentParams ?? noSegmentParams;
    this.unwatch = metadata.watch(METADATA_KEYS.logs, (event) => {
      if (event.value === null) return;
      try {
        this.applyLogs(event.value.version, decodeDocument<Logs>(event.value.value));
        this.logsSeenAt = Date.now();
      } catch (e) {
        // The next read of the document through `refresh` fails the same way and surfaces it.
        this.log.error({ err: e, version: event.value.version }, "undecodable Logs document in watch event");
      }
    });
  }

  /** Adds the provider for a segment kind (e.g. the replicated loglet, once its role starts). */
  registerProvider(provider: LogletProvider): void {
    this.providers.set(provider.kind, provider);
  }

  append(logId: LogId, payloads: readonly Uint8Array[]): Promise<Lsn> {
    if (this.closed) return Promise.reject(this.closedError());
    const state = this.states.get(logId);
    // Hot path: no await between the call and the loglet's queue, so concurrent appends keep their order.
    if (state?.tail && !this.backlogs.has(logId) && (state.appendingTo === null || state.appendingTo === state.tail)) {
      return new Promise((resolve, reject) => this.appendTo(state, state.tail!, { payloads, resolve, reject }));
    }
    return new Promise((resolve, reject) => this.backlogOf(logId).push({ payloads, resolve, reject }));
  }

  /** The log's backlog, started (its drain running) if there was none. */
  private backlogOf(logId: LogId): QueuedAppend[] {
    let backlog = this.backlogs.get(logId);
    if (backlog === undefined) {
      this.backlogs.set(logId, (backlog = []));
      void this.drainBacklog(logId, backlog);
    }
    return backlog;
  }

  async read(logId: LogId, from: Lsn, limit: number): Promise<LogEntry[]> {
    const state = await this.state(logId);
    const out: LogEntry[] = [];
    let lsn = Math.max(from, 1);
    while (out.length < limit) {
      const segments = state.chain.segments;
      // Segments below the first one were trimmed away and dropped from the chain.
      if (lsn < segments[0].baseLsn) {
        pushMerged(out, { lsn: Lsn(lsn), trimGapTo: Lsn(segments[0].baseLsn - 1) });
        lsn = segments[0].baseLsn;
        continue;
      }
      // The last segment based at or below `lsn` (an earlier one with the same base is empty).
      let i = segments.length - 1;
      while (i > 0 && segments[i].baseLsn > lsn) i--;
      const segment = segments[i];
      const next = segments[i + 1];
      let max = limit - out.length;
      if (next !== undefined) max = Math.min(max, next.baseLsn - lsn);
      const loglet = await this.logletOf(logId, segment);
      // The chain fixed a sealed segment's end: tell the loglet, whose own view may differ.
      if (next !== undefined) loglet.settleTail?.(LogletOffset(next.baseLsn - segment.baseLsn + 1));
      const offset = LogletOffset(lsn - segment.baseLsn + 1);
      let entries = await loglet.read(offset, max);
      if (entries.length === 0 && next !== undefined) {
        // This node's instance of a segment another node sealed (it was the segment's sequencer,
        // say, and was deposed) may not have learnt the seal: sealing again is idempotent and
        // makes it fetch the sealed tail from the log servers.
        await loglet.seal();
        entries = await loglet.read(offset, max);
      }
      if (entries.length === 0) {
        if (next === undefined) break;
        // A sealed segment holds every record below the next segment's base.
        throw new UnavailableError(`log ${logId}: segment ${segment.index} returned nothing at LSN ${lsn}, below its end ${next.baseLsn}`);
      }
      for (const e of entries) pushMerged(out, toLogEntry(segment, e));
      const last = out[out.length - 1];
      lsn = ("trimGapTo" in last ? last.trimGapTo : last.lsn) + 1;
      // The tail segment has nothing more right now; don't spend another read to learn that.
      if (next === undefined && entries.length < max) break;
    }
    return out;
  }

  async waitForTail(logId: LogId, lsn: Lsn, signal?: AbortSignal): Promise<Lsn> {
    const state = await this.state(logId);
    for (;;) {
      signal?.throwIfAborted();
      const { segment, loglet } = await this.openTail(logId, state);
      const offset = lsn - segment.baseLsn + 1;
      const tail = offset < 1 ? await loglet.findTail() : await this.waitOnTailSegment(logId, state, segment, loglet, LogletOffset(offset), signal);
      // The chain moved on while waiting (another node sealed this segment): look at the new tail.
      if (tail === null) continue;
      const tailLsn = segment.baseLsn + tail.nextOffset - 1;
      if (tailLsn > lsn) return Lsn(tailLsn);
      // Sealed short of `lsn`: the records will go to the next segment.
      await this.waitForSegmentAfter(logId, state, segment.index, { signal });
    }
  }

  async findTail(logId: LogId): Promise<Lsn> {
    return (await this.describeTail(logId)).tail;
  }

  async describeTail(logId: LogId): Promise<LogTail> {
    const state = await this.state(logId);
    const { segment, loglet } = await this.openTail(logId, state);
    const { nextOffset, sealed } = await loglet.findTail();
    return { segmentIndex: SegmentIndex(segment.index), tail: Lsn(segment.baseLsn + nextOffset - 1), sealed };
  }

  async trim(logId: LogId, upTo: Lsn): Promise<void> {
    const state = await this.state(logId);
    const segments = state.chain.segments;
    for (const [i, segment] of segments.entries()) {
      if (segment.baseLsn > upTo) break;
      const next = segments[i + 1];
      const last = next === undefined ? upTo : Math.min(upTo, next.baseLsn - 1);
      if (last < segment.baseLsn) continue;
      const loglet = await this.logletOf(logId, segment);
      await loglet.trim(LogletOffset(last - segment.baseLsn + 1));
    }
    await this.dropTrimmedSegments(logId, upTo);
  }

  /**
   * Takes the segments that hold nothing above `upTo` out of the chain (compare-and-swap on `Logs`),
   * so the chain does not grow with every reconfiguration. The tail segment always stays; what lies
   * below the first remaining segment reads as trimmed.
   */
  private async dropTrimmedSegments(logId: LogId, upTo: Lsn): Promise<void> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.refresh();
      const chain = current?.doc.logs.find((c) => c.logId === logId);
      if (current === null || chain === undefined) return;
      const segments = chain.segments;
      const firstKept = segments.findIndex((s, i) => i === segments.length - 1 || segments[i + 1].baseLsn - 1 > upTo);
      if (firstKept <= 0) return;
      const doc: Logs = { ...current.doc, logs: current.doc.logs.map((c) => (c.logId === logId ? { ...c, segments: segments.slice(firstKept) } : c)) };
      try {
        const version = await this.metadata.put(METADATA_KEYS.logs, encodeDocument(doc), { kind: "matches", version: current.version });
        this.applyLogs(version, doc);
        this.log.info({ logId, dropped: segments.slice(0, firstKept).map((s) => s.index), firstBaseLsn: segments[firstKept].baseLsn }, "trimmed segments dropped from the chain");
        return;
      } catch (e) {
        if (!(e instanceof PreconditionFailedError)) throw e;
      }
    }
    throw new UnavailableError(`log ${logId}: Logs document kept changing; gave up dropping trimmed segments after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  async getTrimPoint(logId: LogId): Promise<Lsn> {
    const state = await this.state(logId);
    // Everything below the first segment of the chain was trimmed (its segments dropped).
    let trimPoint: number = state.chain.segments[0].baseLsn - 1;
    for (const segment of state.chain.segments) {
      const offset = await (await this.logletOf(logId, segment)).getTrimPoint();
      if (offset > 0) trimPoint = segment.baseLsn + offset - 1;
    }
    return Lsn(trimPoint);
  }

  /**
   * Reconfigures a log: seals its tail loglet and appends `next` as the new tail segment, based at
   * the sealed tail. Idempotent (see `NewSegment.sealIndex`); appends blocked by the seal continue
   * on the new segment.
   */
  async sealAndExtend(logId: LogId, next: NewSegment): Promise<SegmentConfig> {
    await this.state(logId);
    let sealIndex = next.sealIndex;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.refresh();
      const chain = current?.doc.logs.find((c) => c.logId === logId);
      if (current === null || chain === undefined) throw new UnavailableError(`log ${logId} vanished from the Logs document`);
      const tailSegment = chain.segments[chain.segments.length - 1];
      sealIndex ??= tailSegment.index;
      if (tailSegment.index > sealIndex) return chain.segments.find((s) => s.index === sealIndex! + 1)!;
      if (tailSegment.index < sealIndex) throw new UnavailableError(`log ${logId} has no segment ${sealIndex} to seal yet`);

      const sealed = await (await this.logletOf(logId, tailSegment)).seal();
      const segment: SegmentConfig = {
        index: sealIndex + 1,
        baseLsn: Lsn(tailSegment.baseLsn + sealed.nextOffset - 1),
        provider: next.provider,
        params: next.params,
      };
      const doc: Logs = {
        ...current.doc,
        logs: current.doc.logs.map((c) => (c.logId === logId ? { ...c, segments: [...c.segments, segment] } : c)),
      };
      try {
        const version = await this.metadata.put(METADATA_KEYS.logs, encodeDocument(doc), { kind: "matches", version: current.version });
        this.applyLogs(version, doc);
        this.log.info({ logId, sealedSegment: sealIndex, baseLsn: segment.baseLsn, provider: segment.provider }, "log reconfigured");
        return segment;
      } catch (e) {
        if (!(e instanceof PreconditionFailedError)) throw e;
      }
    }
    throw new UnavailableError(`log ${logId}: Logs document kept changing; gave up extending after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  /** The chain as this node last saw it. */
  async getChain(logId: LogId): Promise<LogChain> {
    return (await this.state(logId)).chain;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    for (const state of this.states.values()) for (const wake of state.chainWaiters) wake();
    await Promise.all([...this.providers.values()].map((p) => p.close()));
  }

  /**
   * Hands `a` to the tail loglet. If the loglet refuses it as sealed, it is kept with its issue
   * number and the log's appends queue in the backlog, whose drain re-appends the refused ones in
   * issue order on the next segment before anything newer.
   */
  private appendTo(state: LogState, tail: Tail, a: QueuedAppend): void {
    state.appendingTo = tail;
    const n = tail.issued++;
    tail.inFlight++;
    const answered = (): void => {
      tail.inFlight--;
      for (const wake of [...tail.answered]) wake();
    };
    tail.loglet.append(a.payloads).then(
      (offset) => {
        answered();
        a.resolve(Lsn(tail.segment.baseLsn + offset - 1));
      },
      (e: unknown) => {
        answered();
        if (!(e instanceof SealedError)) return a.reject(e);
        tail.refused.push({ n, append: a });
        this.backlogOf(state.chain.logId);
      },
    );
  }

  /**
   * Resolves when an append to `tail` is answered. Once the chain has a segment after it, the
   * loglet is sealed here too (idempotent), so an instance that has not learnt of another node's
   * seal answers its appends instead of retrying them for as long as the log servers are away.
   */
  private async answersOf(logId: LogId, state: LogState, tail: Tail): Promise<void> {
    const moved = (): boolean => state.chain.segments[state.chain.segments.length - 1].index > tail.segment.index;
    if (moved() && !tail.sealRequested) {
      tail.sealRequested = true;
      tail.loglet.seal().catch((e: unknown) => {
        tail.sealRequested = false;
        this.log.warn({ logId, segment: tail.segment.index, err: e }, "sealing a replaced tail loglet failed; retrying");
      });
    }
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        tail.answered.delete(wake);
        state.chainWaiters.delete(wake);
        resolve();
      };
      // Now and then regardless, to retry a failed seal.
      const timer = setTimeout(wake, CHAIN_REREAD_MS);
      tail.answered.add(wake);
      state.chainWaiters.add(wake);
    });
  }

  private async drainBacklog(logId: LogId, backlog: QueuedAppend[]): Promise<void> {
    let refused: QueuedAppend[] = [];
    try {
      const state = await this.state(logId);
      for (;;) {
        const previous = state.appendingTo;
        if (previous !== null && previous.inFlight > 0) {
          await this.answersOf(logId, state, previous);
          continue;
        }
        if (previous !== null && previous.refused.length > 0) {
          try {
            await this.waitForSegmentAfter(logId, state, previous.segment.index, { timeoutMs: this.sealedAppendTimeoutMs, onTimeout: new SealedError(previous.loglet.id) });
          } catch (e) {
            refused = previous.refused.splice(0).map((r) => r.append);
            throw e;
          }
        }
        const tail = await this.openTail(logId, state);
        // Look again if anything reached the previous loglet while the tail opened, or it is still the tail.
        if (state.appendingTo !== previous || (previous !== null && (previous.inFlight > 0 || (previous === tail && previous.refused.length > 0)))) continue;
        // Synchronously from here on: the refused appends in issue order, then the backlog, then the hot path takes over.
        const retries = previous === null ? [] : previous.refused.splice(0).sort((x, y) => x.n - y.n).map((r) => r.append);
        this.backlogs.delete(logId);
        for (const a of [...retries, ...backlog]) this.appendTo(state, tail, a);
        return;
      }
    } catch (e) {
      this.backlogs.delete(logId);
      for (const a of [...refused, ...backlog]) a.reject(e);
    }
  }

  private state(logId: LogId): Promise<LogState> {
    if (this.closed) return Promise.reject(this.closedError());
    const known = this.states.get(logId);
    if (known !== undefined) return Promise.resolve(known);
    let loading = this.loading.get(logId);
    if (loading === undefined) {
      loading = this.loadChain(logId)
        .then((chain) => {
          const state: LogState = { chain: this.chainOf(logId) ?? chain, tail: null, appendingTo: null, opening: null, chainWaiters: new Set() };
          this.states.set(logId, state);
          return state;
        })
        .finally(() => this.loading.delete(logId));
      this.loading.set(logId, loading);
    }
    return loading;
  }

  /**
   * The log's chain, creating the log on first use: one segment at LSN 1 of the `Logs` document's
   * default provider (a document that does not exist yet is created with `local`).
   */
  private async loadChain(logId: LogId): Promise<LogChain> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const current = await this.refresh();
      const existing = current?.doc.logs.find((c) => c.logId === logId);
      if (existing !== undefined) return existing;
      const provider = current?.doc.defaultProvider ?? "local";
      if (!this.providers.has(provider)) throw new LogProviderUnavailableError(provider);
      const params = await this.newSegmentParams(provider, logId);
      const chain: LogChain = { logId, segments: [{ index: 0, baseLsn: Lsn(1), provider, params }] };
      const doc: Logs = { defaultProvider: provider, logs: [...(current?.doc.logs ?? []), chain] };
      try {
        const version = await this.metadata.put(
          METADATA_KEYS.logs,
          encodeDocument(doc),
          current === null ? { kind: "does-not-exist" } : { kind: "matches", version: current.version },
        );
        this.applyLogs(version, doc);
        this.log.info({ logId, provider }, "log created");
        return chain;
      } catch (e) {
        if (!(e instanceof PreconditionFailedError)) throw e;
      }
    }
    throw new UnavailableError(`log ${logId}: Logs document kept changing; gave up creating it after ${MAX_CAS_ATTEMPTS} attempts`);
  }

  private async refresh(): Promise<{ version: Version; doc: Logs } | null> {
    const stored = await this.metadata.get(METADATA_KEYS.logs);
    if (stored !== null) this.applyLogs(stored.version, decodeDocument<Logs>(stored.value));
    this.logsSeenAt = Date.now();
    return this.logs;
  }

  private chainOf(logId: LogId): LogChain | undefined {
    return this.logs?.doc.logs.find((c) => c.logId === logId);
  }

  /** Takes a newer `Logs` document: updates known chains and wakes whoever waits for a new tail segment. */
  private applyLogs(version: Version, doc: Logs): void {
    if (this.logs !== null && version <= this.logs.version) return;
    this.logs = { version, doc };
    for (const [logId, state] of this.states) {
      const chain = doc.logs.find((c) => c.logId === logId);
      if (chain === undefined) continue;
      const tailIndex = chain.segments[chain.segments.length - 1].index;
      const knownTailIndex = state.chain.segments[state.chain.segments.length - 1].index;
      state.chain = chain;
      if (tailIndex === knownTailIndex) continue;
      if (state.tail !== null && state.tail.segment.index !== tailIndex) state.tail = null;
      for (const wake of state.chainWaiters) wake();
    }
  }

  private openTail(logId: LogId, state: LogState): Promise<Tail> {
    if (state.tail !== null) return Promise.resolve(state.tail);
    state.opening ??= (async () => {
      try {
        for (;;) {
          const segment = state.chain.segments[state.chain.segments.length - 1];
          const loglet = await this.logletOf(logId, segment);
          // The chain may have grown while the loglet was opening.
          if (state.chain.segments[state.chain.segments.length - 1] === segment) {
            return (state.tail = { segment, loglet, issued: 0, inFlight: 0, refused: [], answered: new Set(), sealRequested: false });
          }
        }
      } finally {
        state.opening = null;
      }
    })();
    return state.opening;
  }

  private logletOf(logId: LogId, segment: SegmentConfig): Promise<Loglet> {
    const provider = this.providers.get(segment.provider);
    if (provider === undefined) return Promise.reject(new LogProviderUnavailableError(segment.provider));
    return provider.getLoglet(logId, segment);
  }

  /**
   * Waits for the tail segment's loglet to pass `offset`, or for the chain to get a segment after
   * it, whichever comes first (null): a loglet sealed by another node need not learn it by itself.
   * A follower waits here once per batch it applies, so the wait costs no metadata read while the
   * document is fresh (the watch keeps it so; a missed event is caught by the periodic re-read).
   */
  private async waitOnTailSegment(
    logId: LogId,
    state: LogState,
    segment: SegmentConfig,
    loglet: Loglet,
    offset: LogletOffset,
    signal?: AbortSignal,
  ): Promise<{ nextOffset: LogletOffset; sealed: boolean } | null> {
    // The usual case for a follower under load (records landed while it applied the last batch):
    // no controller, chain wait, timer or listener.
    const now = loglet.tailPast(offset);
    if (now !== null) return now;
    // A single node's apply loop waits here after every batch it catches up on.
    if (this.providers.get(segment.provider)?.sealsOnlyHere === true) return loglet.waitForTail(offset, signal);
    // One controller for both halves; forwarding the caller's abort is cheaper than AbortSignal.any.
    const done = new AbortController();
    const forward = (): void => done.abort(signal!.reason);
    if (signal?.aborted) forward();
    else signal?.addEventListener("abort", forward, { once: true });
    const tailWait = loglet.waitForTail(offset, done.signal);
    try {
      return await Promise.race([tailWait, this.waitForSegmentAfter(logId, state, segment.index, { signal: done.signal, rereadOnlyIfStale: true }).then(() => null)]);
    } finally {
      signal?.removeEventListener("abort", forward);
      done.abort(WAIT_SETTLED);
    }
  }

  /**
   * Resolves once the chain's tail segment is past `index`; re-reads the document first (unless
   * `rereadOnlyIfStale` and it was seen within the re-read interval) and then now and then, in
   * case a watch event was lost.
   */
  private async waitForSegmentAfter(
    logId: LogId,
    state: LogState,
    index: number,
    opts: { signal?: AbortSignal; timeoutMs?: number; onTimeout?: Error; rereadOnlyIfStale?: boolean },
  ): Promise<void> {
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    const moved = (): boolean => state.chain.segments[state.chain.segments.length - 1].index > index;
    if (!opts.rereadOnlyIfStale || Date.now() - this.logsSeenAt >= CHAIN_REREAD_MS) await this.refresh();
    while (!moved()) {
      if (this.closed) throw this.closedError();
      opts.signal?.throwIfAborted();
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw opts.onTimeout ?? new UnavailableError(`log ${logId}: no segment after ${index} yet`);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          opts.signal?.removeEventListener("abort", done);
          state.chainWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(remaining, CHAIN_REREAD_MS));
        opts.signal?.addEventListener("abort", done, { once: true });
        state.chainWaiters.add(done);
      });
      // Woken by an abort: the caller stopped waiting, a re-read would be for no one.
      if (!moved() && !opts.signal?.aborted) await this.refresh();
    }
  }

  private closedError(): UnavailableError {
    return new UnavailableError("bifrost is closed", "bifrost_closed");
  }
}

async function noSegmentParams(provider: ProviderKind): Promise<Readonly<Record<string, unknown>>> {
  if (provider === "local") return {};
  throw new RepriseError("segment_params_unavailable", `this node has no policy for the params of new '${provider}' segments`, false);
}

function toLogEntry(segment: SegmentConfig, e: LogletEntry): LogEntry {
  const lsn = Lsn(segment.baseLsn + e.offset - 1);
  return "trimGapTo" in e ? { lsn, trimGapTo: Lsn(segment.baseLsn + e.trimGapTo - 1) } : { lsn, payload: e.payload };
}

/** Adjacent trim gaps (from consecutive segments) read as one. */
function pushMerged(out: LogEntry[], e: LogEntry): void {
  const last = out[out.length - 1];
  if (last !== undefined && "trimGapTo" in last && "trimGapTo" in e && e.lsn === last.trimGapTo + 1) {
    out[out.length - 1] = { lsn: last.lsn, trimGapTo: e.trimGapTo };
  } else {
    out.push(e);
  }
}
