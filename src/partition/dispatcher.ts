import type { InvocationResult, InvocationStatus } from "../types/invocation.ts";
import { partitionKeyOf, type InvocationId, type PartitionId } from "../types/ids.ts";
import type { PartitionProcessor } from "./processor.ts";
import type { Command, InvokeRequest } from "./records.ts";
import type { PartitionRouter } from "./routing.ts";

/**
 * How ingress and admin reach partitions: append an Invoke durably, and learn results. Owned here,
 * below them, so a request's path only runs downward: ingress → dispatcher → processor → log.
 */
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

/** Routes each call to the processor of the partition that owns the invocation's key, on this node. */
export class PartitionDispatcher implements InvocationDispatcher {
  /** Node-local waiters; processors feed them through `completeResult` as they apply results. */
  private readonly waiters = new ResultWaiters();

  constructor(
    readonly nodeId: number,
    private readonly router: PartitionRouter,
    private readonly processors: ReadonlyMap<PartitionId, PartitionProcessor>,
  ) {}

  async dispatch(request: InvokeRequest): Promise<void> {
    await this.propose(request.id, { t: "invoke", request });
  }

  async propose(target: InvocationId, command: Command): Promise<void> {
    await this.processorFor(target).appendRecord(command);
  }

  status(id: InvocationId): InvocationStatus | null {
    return this.processorFor(id).store.read((tx) => tx.getInvocation(id));
  }

  awaitResult(id: InvocationId): { result: Promise<InvocationResult>; cancel: () => void } {
    return this.waiters.register(id);
  }

  completeResult(id: InvocationId, result: InvocationResult): void {
    this.waiters.complete(id, result);
  }

  processorFor(id: InvocationId): PartitionProcessor {
    return this.processors.get(this.router.partitionOfKey(partitionKeyOf(id)))!;
  }
}
