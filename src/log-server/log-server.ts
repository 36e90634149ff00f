import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { rootLogger, type Logger } from "../common/logger.ts";
import { SealedError } from "../bifrost/loglet.ts";
import { findReplicatedSegment } from "../net/loglet-params.ts";
import { fromWireNodeId, sameNode } from "../net/node-id.ts";
import { longPollWaitMs, type CallContext } from "../net/rpc-call.ts";
import { RpcServer, type ServiceImpl } from "../net/server.ts";
import { LogServer as LogServerService, type LogletStateSchema, type RequestHeader } from "../net/gen/log_server_pb.ts";
import { decodeDocument, METADATA_KEYS, type Logs, type NodesConfiguration, type StorageState } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import type { RetryOptions } from "../metadata/read-modify-write.ts";
import { errorMessage } from "../types/errors.ts";
import { formatNodeId, type GenerationalNodeId, type PlainNodeId } from "../types/ids.ts";
import { FencedNodeError, LogServerClosedError, MalformedRequestError, NotWritableError, StaleSequencerError, UnknownLogletError } from "../net/log-server-errors.ts";
import { MAX_OFFSET, RecordStore } from "./record-store.ts";
import { claimDataDir } from "./storage-marker.ts";
import { provisionStorage, type LocalStorage } from "./storage-state.ts";
import { answeringRefusals } from "./refusals.ts";

export interface LogServerOptions {
  readonly me: GenerationalNodeId;
  readonly clusterName: string;
  readonly dataDir: string;
  readonly metadata: MetadataStore;
  readonly port: number;
  readonly host?: string;
  readonly logger?: Logger;
  /** Pause between rounds of the provisioning loop. */
  readonly provisioningBackoffMs?: number;
  /** Bounds of one round's retries of the storage-state write (defaults: `transitionStorageState`'s). */
  readonly provisioningRetry?: Pick<RetryOptions, "maxAttempts" | "backoffMs">;
  /**
   * The node's RPC server, shared with its other roles; its owner listens and closes it. Without
   * one the log server listens on `port` itself.
   */
  readonly rpc?: RpcServer;
}

type LogletStateInit = MessageInitShape<typeof LogletStateSchema>;

const MAX_RECORDS_PER_READ = 10_000;
const DEFAULT_READ_BYTES = 1 << 20;
const MAX_DIGEST_SPAN = 1 << 20;

/**
 * The log-server role: stores records of replicated loglets for sequencers, seals loglets, serves
 * reads, and provisions its storage (`provisioning → read-write`) through `NodesConfiguration`.
 */
export class LogServer {
  readonly log: Logger;
  private readonly rpc: RpcServer;
  private readonly store: RecordStore;
  private readonly unwatch: Array<() => void> = [];
  private readonly tailWaiters = new Map<string, Set<() => void>>();
  /** Highest generation seen per node, from `NodesConfiguration` and from requests. */
  private readonly generations = new Map<PlainNodeId, number>();
  private readonly knownLoglets = new Set<string>();
  private logs: Logs | null = null;
  private readonly closing = new AbortController();
  private provisioningDone: Promise<void> = Promise.resolve();
  private fencedBy: number | null = null;
  /** Set by the provisioning loop; nothing is written before it reaches read-write. */
  storageState: StorageState = "provisioning";
  port = 0;

  private constructor(
    private readonly options: LogServerOptions,
    /** The data directory as claimed: its storage id and whether it was new. */
    readonly storage: LocalStorage,
  ) {
    this.log = (options.logger ?? rootLogger).child({ component: "log-server", node: formatNodeId(options.me) });
    this.store = new RecordStore(join(options.dataDir, "records.sqlite"));
    this.rpc = (options.rpc ?? new RpcServer({ port: options.port, host: options.host, logger: this.log })).register(
      LogServerService,
      answeringRefusals(this.handlers()),
    );
  }

  /** Claims the data directory, starts serving, and provisions storage in the background (see `ready`). */
  static async start(options: LogServerOptions): Promise<LogServer> {
    const { marker, fresh } = claimDataDir(options.dataDir, options.me, options.clusterName);
    const server = new LogServer(options, { id: marker.storageId, fresh });
    try {
      server.watchMetadata();
      server.port = options.rpc === undefined ? await server.rpc.listen() : options.port;
    } catch (e) {
      await server.close();
      throw e;
    }
    server.provisioningDone = server.provision();
    server.log.info({ port: server.port, dataDir: options.dataDir, fresh, storageId: marker.storageId }, "log server started");
    return server;
  }

  /** Resolves with the storage state once provisioning settled (or the server closed). Never rejects. */
  async ready(): Promise<StorageState> {
    await this.provisioningDone;
    return this.storageState;
  }

  get fenced(): boolean {
    return this.fencedBy !== null;
  }

  /** Commits of the record store that were fsync'd (see `RecordStore.syncedCommits`). */
  get syncedCommits(): number {
    return this.store.syncedCommits;
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    for (const stop of this.unwatch) stop();
    for (const waiters of this.tailWaiters.values()) for (const wake of waiters) wake();
    await this.provisioningDone;
    if (this.options.rpc === undefined) await this.rpc.close();
    await this.store.close();
  }

  // ---------- provisioning ----------

  /**
   * Converges this node's storage state, retrying until it settles or the server closes: a new
   * node's storage moves `provisioning → read-write`, recording this directory's storage id beside
   * it; a state recorded for another storage (the directory was wiped) becomes `data-loss`. Each
   * round decides on the state it reads, so a round after an earlier one's write was applied but
   * its answer lost (however long the store stayed unreachable) finds its own storage id and
   * stops. Errors are logged and retried, never thrown.
   */
  private async provision(): Promise<void> {
    const signal = this.closing.signal;
    const backoffMs = this.options.provisioningBackoffMs ?? 200;
    for (let round = 0; !signal.aborted; round++) {
      try {
        await this.refreshNodesConfig();
        this.storageState = await provisionStorage(this.options.metadata, this.options.me, this.storage, { ...this.options.provisioningRetry, signal });
        if (this.storageState === "data-loss") this.log.error({ storageId: this.storage.id }, "the cluster expects data of another storage here (data directory lost); marked data-loss");
        this.log.info({ storageState: this.storageState, rounds: round + 1 }, "storage state settled");
        return;
      } catch (e) {
        if (signal.aborted) return;
        if (e instanceof FencedNodeError) {
          this.fence(this.generations.get(this.options.me.id) ?? this.options.me.generation + 1, e);
          return;
        }
        this.log.warn({ err: errorMessage(e), round }, "storage state transition not settled yet; retrying");
        await sleep(backoffMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Learns the generations (and a newer generation of this node) before provisioning writes. */
  private async refreshNodesConfig(): Promise<void> {
    const stored = await this.options.metadata.get(METADATA_KEYS.nodesConfiguration);
    if (stored !== null) this.onNodesConfig(stored.value);
  }

  private fence(byGeneration: number, cause: unknown): void {
    if (this.fencedBy !== null) return;
    this.fencedBy = byGeneration;
    this.log.error({ err: errorMessage(cause) }, "a newer generation of this node exists; refusing all requests");
  }

  // ---------- metadata ----------

  /** Follows both documents; the first reads happen in the provisioning loop and on demand, so an unreachable store never fails the start. */
  private watchMetadata(): void {
    const { metadata } = this.options;
    this.unwatch.push(
      metadata.watch(METADATA_KEYS.nodesConfiguration, (e) => e.value && this.onNodesConfig(e.value.value)),
      metadata.watch(METADATA_KEYS.logs, (e) => e.value && this.onLogs(e.value.value)),
    );
  }

  private onNodesConfig(bytes: Uint8Array): void {
    let config: NodesConfiguration;
    try {
      config = decodeDocument<NodesConfiguration>(bytes);
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "undecodable NodesConfiguration; keeping the previous view");
      return;
    }
    for (const n of config.nodes) this.noteGeneration(n.id, n.generation);
    const mine = config.nodes.find((n) => n.id === this.options.me.id);
    if (mine && mine.generation > this.options.me.generation) this.fence(mine.generation, FencedNodeError.superseded(this.options.me, mine.generation));
    // After provisioning, an operator may move the state (e.g. to read-only); follow it. Never back
    // to provisioning: a watch may deliver versions older than the one provisioning settled on
    // (from before this node's transition), and the newer ones that follow would then be ignored.
    const state = mine?.logServer?.storageState;
    if (state && state !== "provisioning" && this.storageState !== "provisioning") this.storageState = state;
  }

  private onLogs(bytes: Uint8Array): void {
    try {
      this.logs = decodeDocument<Logs>(bytes);
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "undecodable Logs document; keeping the previous view");
    }
  }

  private noteGeneration(node: PlainNodeId, generation: number): void {
    if (generation > (this.generations.get(node) ?? 0)) this.generations.set(node, generation);
  }

  // ---------- request checks ----------

  /** Validates the header and returns the loglet id; refuses fenced callers and unknown loglets. */
  private async admit(header: RequestHeader | undefined): Promise<string> {
    if (this.closing.signal.aborted) throw new LogServerClosedError();
    if (this.fencedBy !== null) throw FencedNodeError.superseded(this.options.me, this.fencedBy);
    if (!header?.sender || header.sender.id === 0 || header.logletId === "") throw new MalformedRequestError("request header needs sender and loglet id");
    const sender = fromWireNodeId(header.sender);
    const newest = this.generations.get(sender.id) ?? 0;
    if (sender.generation < newest) throw FencedNodeError.superseded(sender, newest);
    this.noteGeneration(sender.id, sender.generation);
    await this.ensureKnown(header.logletId);
    if (header.knownGlobalTail > 0) this.raiseGlobalTail(header.logletId, header.knownGlobalTail);
    return header.logletId;
  }

  /** A loglet is known once stored here, or if `Logs` has a replicated segment with this id and us in its nodeset. */
  private async ensureKnown(logletId: string): Promise<void> {
    if (this.knownLoglets.has(logletId) || this.store.has(logletId)) return;
    const isMine = (logs: Logs | null): boolean => {
      const found = logs && findReplicatedSegment(logs, logletId);
      return !!found && found.params.nodeset.includes(this.options.me.id);
    };
    if (!isMine(this.logs)) {
      // The segment may have been added after our last watch event.
      const stored = await this.options.metadata.get(METADATA_KEYS.logs);
      if (stored) this.onLogs(stored.value);
      if (!isMine(this.logs)) throw new UnknownLogletError(logletId);
    }
    this.knownLoglets.add(logletId);
  }

  private raiseGlobalTail(logletId: string, tail: number): void {
    const before = this.store.durable(logletId).knownGlobalTail;
    this.store.observeGlobalTail(logletId, tail);
    if (tail > before) this.wakeTailWaiters(logletId);
  }

  private wakeTailWaiters(logletId: string): void {
    const waiters = this.tailWaiters.get(logletId);
    if (!waiters) return;
    this.tailWaiters.delete(logletId);
    for (const wake of waiters) wake();
  }

  private stateOf(logletId: string): LogletStateInit {
    const v = this.store.durable(logletId);
    return {
      localTail: v.localTail,
      sealed: v.sealed,
      knownGlobalTail: v.knownGlobalTail,
      trimPoint: v.trimPoint,
      authoritative: this.storageState !== "data-loss",
    };
  }

  // ---------- handlers ----------

  private handlers(): ServiceImpl<typeof LogServerService> {
    return {
      store: async (req) => {
        const id = await this.admit(req.header);
        if (this.storageState !== "read-write") throw NotWritableError.inState(this.storageState);
        const count = req.payloads.length;
        if (count === 0 || req.firstOffset < 1 || req.firstOffset + count - 1 > MAX_OFFSET) {
          throw new MalformedRequestError(`loglet ${id}: store of ${count} records at offset ${req.firstOffset} is out of range`);
        }
        const staged = this.store.staged(id);
        let sequencer: GenerationalNodeId | null = null;
        if (!req.repair) {
          if (staged.sealed) throw new SealedError(id);
          if (!req.sequencer) throw new MalformedRequestError(`loglet ${id}: store without a sequencer`);
          sequencer = fromWireNodeId(req.sequencer);
          const sender = fromWireNodeId(req.header!.sender!);
          // Only the loglet's one sequencer writes; the first store fixed who that is.
          const known = staged.sequencer ?? sequencer;
          if (!sameNode(sender, sequencer) || !sameNode(known, sequencer)) throw StaleSequencerError.refusing(id, sender, known);
        }
        await this.store.store(id, req.firstOffset, req.payloads, sequencer);
        return { state: this.stateOf(id) };
      },
      release: async (req) => {
        const id = await this.admit(req.header);
        return { state: this.stateOf(id) };
      },
      seal: async (req) => {
        const id = await this.admit(req.header);
        // Even when already sealed: the answer must come after the seal is durable.
        await this.store.seal(id);
        this.wakeTailWaiters(id);
        return { state: this.stateOf(id) };
      },
      getLogletInfo: async (req) => {
        const id = await this.admit(req.header);
        return { state: this.stateOf(id) };
      },
      trim: async (req) => {
        const id = await this.admit(req.header);
        const staged = this.store.staged(id);
        // Never past what exists: a trim point beyond the tail would drop records stored later.
        const upTo = Math.min(req.trimPoint, Math.max(staged.localTail, staged.knownGlobalTail) - 1);
        if (upTo > staged.trimPoint) await this.store.trim(id, upTo);
        return { state: this.stateOf(id) };
      },
      getRecords: async (req) => {
        const id = await this.admit(req.header);
        if (req.fromOffset < 1 || req.toOffset < req.fromOffset) throw new MalformedRequestError(`loglet ${id}: bad range [${req.fromOffset}, ${req.toOffset}]`);
        const maxRecords = Math.min(req.maxRecords || MAX_RECORDS_PER_READ, MAX_RECORDS_PER_READ);
        const { records, nextOffset } = this.store.read(id, req.fromOffset, req.toOffset, maxRecords, req.maxBytes || DEFAULT_READ_BYTES);
        return { state: this.stateOf(id), records, nextOffset };
      },
      getDigest: async (req) => {
        const id = await this.admit(req.header);
        if (req.fromOffset < 1 || req.toOffset < req.fromOffset || req.toOffset - req.fromOffset >= MAX_DIGEST_SPAN) {
          throw new MalformedRequestError(`loglet ${id}: bad digest range [${req.fromOffset}, ${req.toOffset}]`);
        }
        return { state: this.stateOf(id), offsets: this.store.offsets(id, req.fromOffset, req.toOffset) };
      },
      waitForTail: async (req, ctx) => {
        const id = await this.admit(req.header);
        await this.waitForGlobalTail(id, req.globalTailAtLeast, longPollWaitMs(req.maxWaitMs, ctx), ctx);
        return { state: this.stateOf(id) };
      },
    };
  }

  private async waitForGlobalTail(id: string, target: number, waitMs: number, ctx: CallContext): Promise<void> {
    const deadline = Date.now() + waitMs;
    const reached = (): boolean => {
      const v = this.store.durable(id);
      return v.knownGlobalTail >= target || v.sealed;
    };
    while (!reached() && Date.now() < deadline && !ctx.signal.aborted && !this.closing.signal.aborted) {
      await new Promise<void>((resolve) => {
        let waiters = this.tailWaiters.get(id);
        if (!waiters) this.tailWaiters.set(id, (waiters = new Set()));
        const set = waiters;
        const timer = setTimeout(done, deadline - Date.now());
        function done(): void {
          clearTimeout(timer);
          ctx.signal.removeEventListener("abort", done);
          set.delete(done);
          resolve();
        }
        ctx.signal.addEventListener("abort", done, { once: true });
        set.add(done);
      });
    }
  }
}
