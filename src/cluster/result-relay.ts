import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../common/logger.ts";
import { createClient, type ServiceClient } from "../net/client.ts";
import type { NodeConnections } from "../net/connections.ts";
import { IngressResultSvc } from "../net/gen/cluster_pb.ts";
import type { ServiceImpl } from "../net/server.ts";
import type { AppliedResult } from "../partition/state-machine/index.ts";
import { errorMessage, RepriseError } from "../types/errors.ts";
import { PlainNodeId, type PartitionId } from "../types/ids.ts";
import { resultFromWire, resultToWire } from "./invocation-wire.ts";

/** Attempts per delivery, the first pause between them (doubling), and each attempt's timeout. */
const DELIVERY_ATTEMPTS = 5;
const FIRST_RETRY_MS = 200;
const DELIVERY_TIMEOUT_MS = 2_000;

export interface ResultRelayOptions {
  /** The nodes other than this one whose ingress may wait for `partition`'s results without a replica of it. */
  readonly recipients: (partition: PartitionId) => readonly number[];
  readonly connections: NodeConnections;
  readonly logger: Logger;
}

/**
 * Carries the results a partition's leader applies to the workers that have no replica of the
 * partition: their ingress forwards calls to the leader and would otherwise never hear back. The
 * results of one turn of the event loop go to each node in one call, retried a few times; a
 * recipient that stays unreachable misses them (its callers time out, as on a lost connection).
 * A node gets every result of such a partition, waited for there or not (attach leaves no trace
 * in the partition), and drops those nobody waits for.
 */
export class ResultRelay {
  private readonly pending = new Map<PartitionId, AppliedResult[]>();
  private flushScheduled = false;
  private readonly clients = new Map<number, ServiceClient<typeof IngressResultSvc>>();
  private stopped = false;

  constructor(private readonly o: ResultRelayOptions) {}

  relay(partition: PartitionId, applied: AppliedResult): void {
    if (this.stopped) return;
    let batch = this.pending.get(partition);
    if (batch === undefined) this.pending.set(partition, (batch = []));
    batch.push(applied);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Answers results other nodes' leaders relay here, to this node's waiters. */
  static service(complete: (applied: AppliedResult) => void): ServiceImpl<typeof IngressResultSvc> {
    return {
      deliverResults: async (request) => {
        for (const wire of request.results) complete(resultFromWire(wire));
        return {};
      },
    };
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const [partition, results] of this.pending) {
      const recipients = this.o.recipients(partition);
      if (recipients.length === 0) continue;
      const request = { partitionId: partition, results: results.map(resultToWire) };
      for (const node of recipients) void this.deliver(node, request);
    }
    this.pending.clear();
  }

  private async deliver(node: number, request: { partitionId: PartitionId; results: ReturnType<typeof resultToWire>[] }): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client(node).deliverResults(request, { timeoutMs: DELIVERY_TIMEOUT_MS });
        return;
      } catch (e) {
        const retryable = e instanceof RepriseError && e.retryable;
        if (!retryable || attempt >= DELIVERY_ATTEMPTS || this.stopped) {
          this.o.logger.warn({ node, partition: request.partitionId, results: request.results.length, attempts: attempt, err: errorMessage(e) }, "results not delivered to a node without a replica");
          return;
        }
        await sleep(FIRST_RETRY_MS * 2 ** (attempt - 1), undefined, { ref: false });
      }
    }
  }

  private client(node: number): ServiceClient<typeof IngressResultSvc> {
    let client = this.clients.get(node);
    if (client === undefined) {
      client = createClient(IngressResultSvc, this.o.connections.channel(PlainNodeId(node)));
      this.clients.set(node, client);
    }
    return client;
  }
}
