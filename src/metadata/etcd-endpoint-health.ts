import { setTimeout as sleep } from "node:timers/promises";
import { BrokenCircuitError, NoopPolicy, type IDefaultPolicyContext, type IPolicy } from "cockatiel";
import { isRecoverableError } from "etcd3";

/** How often a held-off endpoint's `/health` is asked, and how long one answer may take. */
const PROBE_EVERY_MS = 250;
const PROBE_TIMEOUT_MS = 1_000;

/**
 * Fault handling of one etcd endpoint when the client has several. A call that fails on it for a
 * reason another member may not share (unreachable, deadline, leader changed) holds it off: calls
 * go to the other members until its `/health` says it is back (it answers and has a leader).
 * Letting a real call through as the trial, as a circuit breaker does, cost that call its whole
 * deadline every time the member was still cut off: in the chaos runs a new partition leader's
 * etcd steps kept landing on the member cut off with the old leader, and the majority did not
 * lead until the network healed.
 */
export class EtcdEndpointHealth implements IPolicy<IDefaultPolicyContext> {
  declare readonly _altReturn: never;
  /** Runs the calls let through, and carries the success and failure events etcd3 may listen to. */
  private readonly calls = new NoopPolicy();
  readonly onSuccess = this.calls.onSuccess;
  readonly onFailure = this.calls.onFailure;
  private heldOff = false;
  private closed = false;

  /** `healthUrl`: the member's `/health` on its client URL. */
  constructor(private readonly healthUrl: string) {}

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    // etcd3 moves on to the next endpoint when a policy refuses without calling through.
    if (this.heldOff) throw new BrokenCircuitError(`etcd endpoint ${this.healthUrl} is held off until it reports healthy`);
    try {
      return await this.calls.execute(fn, signal);
    } catch (e) {
      if (e instanceof Error && isRecoverableError(e)) this.holdOff();
      throw e;
    }
  }

  /** Whether calls skip this endpoint now. */
  get isHeldOff(): boolean {
    return this.heldOff;
  }

  /** Stops probing (the client is closing). */
  close(): void {
    this.closed = true;
  }

  private holdOff(): void {
    if (this.heldOff || this.closed) return;
    this.heldOff = true;
    void this.probeUntilHealthy();
  }

  private async probeUntilHealthy(): Promise<void> {
    while (this.heldOff && !this.closed) {
      await sleep(PROBE_EVERY_MS, undefined, { ref: false });
      try {
        const res = await fetch(this.healthUrl, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
        const body = (await res.json()) as { health?: unknown };
        if (res.ok && body.health === "true") this.heldOff = false;
      } catch {
        // Unreachable or no answer yet: still held off, asked again.
      }
    }
  }
}
