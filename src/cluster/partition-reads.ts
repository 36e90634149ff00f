import { createClient, type ServiceClient } from "../net/client.ts";
import type { NodeConnections } from "../net/connections.ts";
import { PartitionReadSvc } from "../net/gen/cluster_pb.ts";
import type { ServiceImpl } from "../net/server.ts";
import type { InvocationWithJournal, PartitionDispatcher } from "../partition/dispatcher.ts";
import { UnavailableError } from "../types/errors.ts";
import { parseInvocationId, PlainNodeId, type InvocationId } from "../types/ids.ts";
import { decodeJournalEntry, decodeStatus, encodeJournalEntry, encodeStatus } from "./invocation-wire.ts";

/** The asked node has no replica of the invocation's partition (the placement moved it): ask another. */
export class NoLocalReplicaError extends UnavailableError {
  constructor(id: InvocationId) {
    super(`this node has no replica of the partition of ${id}`, "no_local_replica");
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

  static service(dispatcher: PartitionDispatcher): ServiceImpl<typeof PartitionReadSvc> {
    return {
      getInvocation: async (request) => {
        const id = parseInvocationId(request.invocationId);
        if (dispatcher.processorFor(id) === undefined) throw new NoLocalReplicaError(id);
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
