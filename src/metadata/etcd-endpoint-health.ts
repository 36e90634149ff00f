import { get as httpGet } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { BrokenCircuitError, NoopPolicy, type IDefaultPolicyContext, type IPolicy } from "cockatiel";
import { GRPCUnavailableError, isRecoverableError } from "etcd3";

/** Pause between two rounds of asking every endpoint's `/health`, and how long one answer may take. */
const PROBE_EVERY_MS = 300;
const PROBE_TIMEOUT_MS = 1_000;

/**
 * Fault handling of one etcd endpoint when the client has several (see `EtcdEndpoints`). While it
 * is held off, calls skip it without calling through, and the client turns to another member.
 */
export class EtcdEndpointHealth implements IPolicy<IDefaultPolicyContext> {
  declare readonly _altReturn: never;
  /** Runs the calls let through, and carries the success and failure events etcd3 may listen to. */
  private readonly calls = new NoopPolicy();
  readonly onSuccess = this.calls.onSuccess;
  readonly onFailure = this.calls.onFailure;
  private heldOff = false;
  /** Calls on their way through this endpoint, each to be given up on once the probes hold it off. */
  private readonly inFlight = new Set<(e: Error) => void>();

  /** `healthUrl`: the member's `/health` on its client URL. */
  constructor(readonly healthUrl: string) {}

  execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    // etcd3 moves on to the next endpoint when a policy refuses without calling through.
    if (this.heldOff) return Promise.reject(new BrokenCircuitError(`etcd endpoint ${this.healthUrl} is held off until it reports healthy`));
    return new Promise<T>((resolve, reject) => {
      this.inFlight.add(reject);
      this.calls.execute(fn, signal).then(
        (value) => {
          this.inFlight.delete(reject);
          resolve(value);
        },
        (e: unknown) => {
          this.inFlight.delete(reject);
          // Not the request's own fault (unreachable, deadline, leader changed): another member may answer.
          if (e instanceof Error && isRecoverableError(e)) this.heldOff = true;
          reject(e);
        },
      );
    });
  }

  /** Whether calls skip this endpoint now. */
  get isHeldOff(): boolean {
    return this.heldOff;
  }

  /**
   * Asks the member's `/health` once: true if it answered that it is healthy (it has a leader);
   * false if it is unreachable, unhealthy or slower than the timeout. Its socket does not keep the
   * process alive.
   */
  probe(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = httpGet(this.healthUrl, { timeout: PROBE_TIMEOUT_MS, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve(res.statusCode === 200 && (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { health?: unknown }).health === "true");
          } catch {
            resolve(false);
          }
        });
        res.on("error", () => resolve(false));
      });
      req.on("socket", (socket) => socket.unref());
      req.on("timeout", () => req.destroy(new Error("no answer in time")));
      req.on("error", () => resolve(false));
    });
  }

  /**
   * Held off by the probes: the calls still waiting on this member fail now, as unavailable,
   * instead of at their deadline. A member cut off from this node answers none of them, and in the
   * chaos runs a cluster controller's lease read that waited out its 3 s there delayed the
   * majority's takeover by as long. Like a call past its deadline, one given up on may still have
   * been applied: callers re-read, as after any unavailable answer.
   */
  holdOff(): void {
    this.heldOff = true;
    if (this.inFlight.size === 0) return;
    const waiting = [...this.inFlight];
    this.inFlight.clear();
    for (const reject of waiting) reject(new GRPCUnavailableError(`etcd endpoint ${this.healthUrl} stopped answering its health check; the call was given up on`));
  }

  release(): void {
    this.heldOff = false;
  }
}

/**
 * Health of every endpoint of one etcd client, asked in rounds (every `/health` at once, then a
 * pause). A held-off endpoint comes back once it answers healthy. One that does not answer healthy
 * while another does is held off before a call has to find out: a call on a member cut off from
 * this node waits out its whole deadline. Letting real calls through as trials, as a circuit
 * breaker does, cost one call its deadline at every trial: in the chaos runs a new partition
 * leader's etcd steps kept landing on the member cut off with the old leader, and the majority did
 * not lead until the network healed. When none answers healthy (this node is cut off, or etcd is
 * slower than the probe's timeout everywhere) nothing is held off by the probes, so calls still
 * wait for etcd instead of failing without asking.
 */
export class EtcdEndpoints {
  private stopped = false;

  constructor(readonly endpoints: readonly EtcdEndpointHealth[]) {
    void this.watch();
  }

  /** Stops the rounds (the client is closing). */
  close(): void {
    this.stopped = true;
  }

  private async watch(): Promise<void> {
    while (!this.stopped) {
      const healthy = await Promise.all(this.endpoints.map((e) => e.probe()));
      if (this.stopped) return;
      const anyHealthy = healthy.some(Boolean);
      this.endpoints.forEach((e, i) => {
        if (healthy[i]) e.release();
        else if (anyHealthy) e.holdOff();
      });
      await sleep(PROBE_EVERY_MS, undefined, { ref: false });
    }
  }
}
