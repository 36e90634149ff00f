import type { MessageInitShape } from "@bufbuild/protobuf";
import type { NodeConnections } from "../../net/connections.ts";
import { Sequencer as SequencerService, type RequestHeaderSchema } from "../../net/gen/log_server_pb.ts";
import { createClient, type ServiceClient } from "../../net/client.ts";
import { toWireNodeId } from "../../net/node-id.ts";
import type { GenerationalNodeId, PlainNodeId } from "../../types/ids.ts";
import { logServerClient, type LogServerClient } from "./log-server-client.ts";

const FAILURE_BACKOFF_MIN_MS = 100;
const FAILURE_BACKOFF_MAX_MS = 2_000;

/**
 * Clients for the log servers of this process's loglets, plus which servers recently failed, so
 * writers route around a dead server instead of waiting on it for every batch.
 */
export class LogServers {
  private readonly clients = new Map<PlainNodeId, LogServerClient>();
  private readonly sequencers = new Map<PlainNodeId, ServiceClient<typeof SequencerService>>();
  private readonly failures = new Map<PlainNodeId, { count: number; until: number }>();

  constructor(
    private readonly connections: NodeConnections,
    readonly me: GenerationalNodeId,
  ) {}

  client(node: PlainNodeId): LogServerClient {
    let c = this.clients.get(node);
    if (!c) this.clients.set(node, (c = logServerClient(this.connections.channel(node))));
    return c;
  }

  /** The node's process as the sequencer of its loglets: readers near the tail ask it for records. */
  sequencer(node: PlainNodeId): ServiceClient<typeof SequencerService> {
    let c = this.sequencers.get(node);
    if (!c) this.sequencers.set(node, (c = createClient(SequencerService, this.connections.channel(node))));
    return c;
  }

  header(logletId: string, knownGlobalTail: number): MessageInitShape<typeof RequestHeaderSchema> {
    return { sender: toWireNodeId(this.me), logletId, knownGlobalTail };
  }

  healthy(node: PlainNodeId): boolean {
    return (this.failures.get(node)?.until ?? 0) <= Date.now();
  }

  markFailed(node: PlainNodeId): void {
    const count = (this.failures.get(node)?.count ?? 0) + 1;
    const backoff = Math.min(FAILURE_BACKOFF_MIN_MS * 2 ** (count - 1), FAILURE_BACKOFF_MAX_MS);
    this.failures.set(node, { count, until: Date.now() + backoff });
  }

  markOk(node: PlainNodeId): void {
    this.failures.delete(node);
  }
}

/**
 * Spread selector: the nodeset rotated by `seed` (so consecutive batches land on different write
 * sets), healthy servers first. Writers take the first `replication` of `localFirstOrder` and fall
 * back down the list.
 */
export function spreadOrder(nodeset: readonly PlainNodeId[], seed: number, servers: LogServers): PlainNodeId[] {
  const start = seed % nodeset.length;
  const rotated = [...nodeset.slice(start), ...nodeset.slice(0, start)];
  return [...rotated.filter((n) => servers.healthy(n)), ...rotated.filter((n) => !servers.healthy(n))];
}

/**
 * The spread order with this node's own log server first, when it is in the nodeset and healthy:
 * its calls stay in this process. A sequencer stores every batch there and spreads the other
 * copies; a reader asks it first, and what it lacks comes from the next server.
 */
export function localFirstOrder(nodeset: readonly PlainNodeId[], seed: number, servers: LogServers): PlainNodeId[] {
  const order = spreadOrder(nodeset, seed, servers);
  const me = servers.me.id;
  if (!nodeset.includes(me) || !servers.healthy(me)) return order;
  return [me, ...order.filter((n) => n !== me)];
}
