import type { ClusterRows, GatheredRows } from "../admin/query/engine.ts";
import type { Logger } from "../common/logger.ts";
import { errorMessage, RepriseError, UnavailableError } from "../types/errors.ts";
import type { PartitionId } from "../types/ids.ts";

/** No node with a replica of the partition answered: the query would miss its rows. */
export class PartitionUnreadableError extends UnavailableError {
  constructor(partition: PartitionId, why: string) {
    super(`no replica of partition ${partition} could be read (${why}); retry the query`, "partition_unreadable");
  }
}

export interface ClusterQueryRowsOptions {
  readonly me: number;
  readonly partitions: readonly PartitionId[];
  /** This node's replica of `partition`, if it has one, and whether it leads. */
  readonly local: (partition: PartitionId) => { readonly leads: boolean } | undefined;
  readonly leaderOf: (partition: PartitionId) => number | undefined;
  readonly replicasOf: (partition: PartitionId) => readonly number[];
  /** The rows `query` reads from `node`'s replicas of `partitions` (`QueryEngine.loadRows` there). */
  readonly load: (node: number, query: string, partitions: readonly PartitionId[], timeoutMs: number) => Promise<Uint8Array>;
  readonly logger: Logger;
}

/**
 * Where a query on this node reads each partition of the cluster: on the node that leads it (its
 * store is the newest, and its invoker knows which invocations run and why they failed), here when
 * this node leads it or no leader is placed. A leader that does not answer is replaced by this
 * node's own replica, else by another one; a partition no replica answers for fails the query
 * rather than leaving its rows out.
 */
export class ClusterQueryRows implements ClusterRows {
  constructor(private readonly o: ClusterQueryRowsOptions) {}

  async gather(query: string, timeoutMs: number): Promise<GatheredRows> {
    const local = new Set<PartitionId>();
    const first = new Map<number, PartitionId[]>();
    for (const p of this.o.partitions) {
      const here = this.o.local(p);
      const leader = this.o.leaderOf(p);
      if (here !== undefined && (here.leads || leader === undefined || leader === this.o.me)) local.add(p);
      else if (leader !== undefined && leader !== this.o.me) group(first, leader, p);
      else this.nextReplica(p, [], local, first);
    }
    const rows: Uint8Array[] = [];
    let round = first;
    const tried = new Map<PartitionId, number[]>();
    while (round.size > 0) {
      const next = new Map<number, PartitionId[]>();
      await Promise.all(
        [...round].map(async ([node, partitions]) => {
          try {
            rows.push(await this.o.load(node, query, partitions, timeoutMs));
          } catch (e) {
            // The query's own faults are the same on every node; only an unreachable replica is worth another.
            if (!(e instanceof RepriseError) || !e.retryable) throw e;
            this.o.logger.debug({ node, partitions, err: errorMessage(e) }, "a node did not load its partitions' rows for a query; reading other replicas");
            for (const p of partitions) {
              const failed = [...(tried.get(p) ?? []), node];
              tried.set(p, failed);
              this.nextReplica(p, failed, local, next, e);
            }
          }
        }),
      );
      round = next;
    }
    return { local, rows };
  }

  /** Reads `p` here if this node has a replica, else asks a replica not tried yet. */
  private nextReplica(p: PartitionId, failed: readonly number[], local: Set<PartitionId>, into: Map<number, PartitionId[]>, cause?: unknown): void {
    if (this.o.local(p) !== undefined) {
      local.add(p);
      return;
    }
    const other = this.o.replicasOf(p).find((n) => n !== this.o.me && !failed.includes(n));
    if (other !== undefined) return group(into, other, p);
    throw new PartitionUnreadableError(p, cause === undefined ? "the placement names no replica" : `last: ${errorMessage(cause)}`);
  }
}

function group(into: Map<number, PartitionId[]>, node: number, p: PartitionId): void {
  const list = into.get(node);
  if (list === undefined) into.set(node, [p]);
  else list.push(p);
}
