import { createClient, type ServiceClient } from "../net/client.ts";
import type { NodeConnections } from "../net/connections.ts";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../net/rpc-call.ts";
import { PartitionReadSvc } from "../net/gen/cluster_pb.ts";
import type { ServiceImpl } from "../net/server.ts";
import type { InvocationWithJournal, PartitionDispatcher } from "../partition/dispatcher.ts";
import { BadRequestError, UnavailableError } from "../types/errors.ts";
import { parseInvocationId, PartitionId, PlainNodeId, type InvocationId } from "../types/ids.ts";
import { decodeJournalEntry, decodeStatus, encodeJournalEntry, encodeStatus } from "./invocation-wire.ts";

/** How much longer than a query's own timeout a node waits for another to load its rows. */
const LOAD_ANSWER_GRACE_MS = 2_000;

/** The most rows one node sends another for one query (the transport's limit, less room for the envelope). */
const MAX_QUERY_ROWS_BYTES = DEFAULT_MAX_MESSAGE_BYTES - (1 << 20);

/** The asked node has no replica of the invocation's partition (the placement moved it): ask another. */
export class NoLocalReplicaError extends UnavailableError {
  /** `what`: the partition asked for, e.g. "partition 3" or "the partition of inv_…". */
  constructor(what: string) {
    super(`this node has no replica of ${what}`, "no_local_replica");
  }
}

/**
 * Reads of invocations for nodes without a replica of their partition: the client side asks a
 * node's replica (`PartitionReadSvc`), the service side answers from this node's.
 */
export class PartitionReads {
  private readonly clients = new Map<number, ServiceClient<typeof PartitionReadSvc>>();

  constructor(private readonly connections: NodeConnections) {}

  async read(node: number, id: InvocationId, withJournal: boolean, timeoutMs: number): Promise<InvocationWithJournal | null> {
    const answer = await this.client(node).getInvocation({ invocationId: id, withJournal }, { timeoutMs });
    if (!answer.found) return null;
    return { status: decodeStatus(answer.status), journal: answer.journal.map(decodeJournalEntry) };
  }

  /** The rows `query` reads from `node`'s replicas of `partitions`, to be run here. */
  async loadQueryRows(node: number, query: string, partitions: readonly PartitionId[], timeoutMs: number): Promise<Uint8Array> {
    // The asked node's worker stops at the timeout; the call waits a little longer for its answer.
    const answer = await this.client(node).loadQueryRows({ query, partitions: [...partitions], timeoutMs }, { timeoutMs: timeoutMs + LOAD_ANSWER_GRACE_MS });
    return answer.rows;
  }

  /**
   * `loadRows` loads a query's rows from this node's replicas (`Node.loadQueryRows`); refused when
   * they would not fit one answer.
   */
  static service(dispatcher: PartitionDispatcher, loadRows: (query: string, partitions: readonly PartitionId[], timeoutMs: number) => Promise<Uint8Array>): ServiceImpl<typeof PartitionReadSvc> {
    return {
      loadQueryRows: async (request) => {
        const rows = await loadRows(request.query, request.partitions.map((p) => PartitionId(p)), request.timeoutMs);
        if (rows.byteLength > MAX_QUERY_ROWS_BYTES) {
          const mib = (n: number) => (n / 2 ** 20).toFixed(1);
          throw new BadRequestError(
            `the query reads ${mib(rows.byteLength)} MiB from partitions ${request.partitions.join(", ")}, more than one node sends another (${mib(MAX_QUERY_ROWS_BYTES)} MiB); narrow it with WHERE or LIMIT`,
            "query_too_large",
          );
        }
        return { rows };
      },
      getInvocation: async (request) => {
        const id = parseInvocationId(request.invocationId);
        if (dispatcher.processorFor(id) === undefined) throw new NoLocalReplicaError(`the partition of ${id}`);
        if (request.withJournal) {
          const found = dispatcher.withJournal(id);
          return found === null ? { found: false } : { found: true, status: encodeStatus(found.status), journal: found.journal.map(encodeJournalEntry) };
        }
        const status = dispatcher.status(id);
        return status === null ? { found: false } : { found: true, status: encodeStatus(status) };
      },
    };
  }

  private client(node: number): ServiceClient<typeof PartitionReadSvc> {
    let client = this.clients.get(node);
    if (client === undefined) {
      client = createClient(PartitionReadSvc, this.connections.channel(PlainNodeId(node)));
      this.clients.set(node, client);
    }
    return client;
  }
}
