import type { InvocationResult, InvocationStatus } from "../partition/invocation.ts";
import type { Command, InvokeRequest } from "../partition/records.ts";
import type { InvocationId } from "../types/ids.ts";

/** How the ingress reaches partitions: append an Invoke durably, and learn results. */
export interface InvocationDispatcher {
  /** Resolves once the Invoke record is durable in its partition's log. */
  dispatch(request: InvokeRequest): Promise<void>;
  /** Appends a command to the log of the partition that owns `target`; resolves when durable. */
  propose(target: InvocationId, command: Command): Promise<void>;
  /** Registers interest in a result; call before `dispatch` so no result can be missed. */
  awaitResult(id: InvocationId): { result: Promise<InvocationResult>; cancel: () => void };
  /** The invocation's status as the owning partition has applied it, or null. */
  status(id: InvocationId): InvocationStatus | null;
  readonly nodeId: number;
}

/** Node-local result waiters, fed by partition processors as they apply results. */
export class ResultWaiters {
  private readonly waiters = new Map<InvocationId, Set<(r: InvocationResult) => void>>();

  register(id: InvocationId): { result: Promise<InvocationResult>; cancel: () => void } {
    let set = this.waiters.get(id);
    if (!set) this.waiters.set(id, (set = new Set()));
    let resolver!: (r: InvocationResult) => void;
    const result = new Promise<InvocationResult>((r) => (resolver = r));
    set.add(resolver);
    const cancel = () => {
      set.delete(resolver);
      if (set.size === 0) this.waiters.delete(id);
    };
    return { result, cancel };
  }

  complete(id: InvocationId, result: InvocationResult): void {
    const set = this.waiters.get(id);
    if (!set) return;
    this.waiters.delete(id);
    for (const w of set) w(result);
  }
}
