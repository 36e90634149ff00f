import type { Logger } from "../common/logger.ts";
import { documentCodec } from "../metadata/documents.ts";
import { PreconditionFailedError, type MetadataStore } from "../metadata/metadata-store.ts";
import { errorMessage, RepriseError } from "../types/errors.ts";
import type { GenerationalNodeId, Version } from "../types/ids.ts";

export const CONTROLLER_KEY = "cluster_controller";

/** Who runs the cluster controller; `beat` changes on every renewal so others see it is alive. */
export interface ControllerClaim {
  readonly node: { readonly id: number; readonly generation: number };
  readonly term: number;
  readonly beat: number;
}

const CLAIM_CODEC = documentCodec<ControllerClaim>();

export interface ControllerLeaseTimings {
  /** How often the holder renews and the others look. */
  readonly renewMs: number;
  /**
   * How long the claim must stay unchanged, as observed by a contender, before it takes over. The
   * holder stops acting after half of it without a successful renewal, so the two never overlap
   * on one clock rate.
   */
  readonly takeoverAfterMs: number;
}

/**
 * When the controller's node is cut off, the majority's failover waits for the takeover first: in
 * chaos runs a 5 s takeover put the majority's new leaders 5.7-9.6 s into a 10 s cut. 3.5 s keeps
 * seven renewals' worth of slack and lets the holder stop acting after 1.75 s without one.
 */
export const DEFAULT_LEASE_TIMINGS: ControllerLeaseTimings = { renewMs: 500, takeoverAfterMs: 3_500 };

/**
 * One cluster controller at a time, elected through the metadata store. The claim is a document
 * changed only by compare-and-swap: the holder bumps `beat` each `renewMs`; a contender that has
 * seen the same version for `takeoverAfterMs` (by its own clock: no clocks are compared across
 * nodes) replaces it with a claim of the next term. A holder whose renewal fails by precondition
 * has been replaced and stops at once; one that cannot reach the store stops after half the
 * takeover time. Decisions the controller makes are compare-and-swaps too, so even a briefly
 * overlapping controller cannot undo another's write: it only fails and re-reads.
 */
export class ControllerLease {
  private timer: NodeJS.Timeout | null = null;
  private held = false;
  private lastRenewedAt = 0;
  private observed: { version: Version; at: number } | null = null;
  private running: Promise<void> | null = null;
  private currentTerm = 0;
  private readonly acquired: (() => void)[] = [];

  constructor(
    private readonly metadata: MetadataStore,
    private readonly me: GenerationalNodeId,
    private readonly log: Logger,
    private readonly timings: ControllerLeaseTimings = DEFAULT_LEASE_TIMINGS,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), this.timings.renewMs);
    this.timer.unref();
    this.tick();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    this.held = false;
  }

  /** Calls `listener` each time this node becomes controller (after holding it or not, before). */
  onAcquired(listener: () => void): void {
    this.acquired.push(listener);
  }

  /** Whether this node may act as controller right now. */
  get isController(): boolean {
    return this.held && this.now() - this.lastRenewedAt < this.timings.takeoverAfterMs / 2;
  }

  get term(): number {
    return this.currentTerm;
  }

  /** One renewal or look; exposed so tests can drive the lease without waiting for the timer. */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = null));
    return this.running;
  }

  private async round(): Promise<void> {
    try {
      const stored = await this.metadata.get(CONTROLLER_KEY);
      const claim = stored === null ? null : CLAIM_CODEC.decode(stored.value);
      const mine = claim !== null && claim.node.id === this.me.id && claim.node.generation === this.me.generation;
      if (stored === null) return await this.claim({ node: this.nodeRef(), term: 1, beat: 0 }, null);
      if (mine) return await this.claim({ ...claim, beat: claim.beat + 1 }, stored.version);
      this.lose(claim);
      if (this.observed === null || this.observed.version !== stored.version) {
        this.observed = { version: stored.version, at: this.now() };
        return;
      }
      if (this.now() - this.observed.at >= this.timings.takeoverAfterMs) {
        await this.claim({ node: this.nodeRef(), term: (claim?.term ?? 0) + 1, beat: 0 }, stored.version);
      }
    } catch (e) {
      if (e instanceof PreconditionFailedError) {
        // Someone else changed the claim first: look again next round.
        this.lose(null);
        return;
      }
      // The store is unreachable: a holder keeps its claim only until `isController` times out.
      if (!(e instanceof RepriseError && e.retryable)) this.log.error({ err: errorMessage(e) }, "controller lease round failed");
    }
  }

  private async claim(next: ControllerClaim, version: Version | null): Promise<void> {
    await this.metadata.put(CONTROLLER_KEY, CLAIM_CODEC.encode(next), version === null ? { kind: "does-not-exist" } : { kind: "matches", version });
    const acquired = !this.held;
    if (acquired) this.log.info({ term: next.term }, "became cluster controller");
    this.held = true;
    this.currentTerm = next.term;
    this.lastRenewedAt = this.now();
    this.observed = null;
    if (acquired) for (const listener of this.acquired) listener();
  }

  private lose(claim: ControllerClaim | null): void {
    if (this.held) {
      this.log.info({ holder: claim ? `N${claim.node.id}:${claim.node.generation}` : "unknown" }, "no longer cluster controller");
    }
    this.held = false;
    if (claim !== null) this.currentTerm = claim.term;
  }

  private nodeRef(): ControllerClaim["node"] {
    return { id: this.me.id, generation: this.me.generation };
  }
}
