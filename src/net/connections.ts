import type { PlainNodeId } from "../types/ids.ts";
import { RpcChannel } from "./client.ts";

/** Resolves a node's advertised RPC address (`host:port`) at connect time; throws if the node is unknown. */
export type AddressResolver = (node: PlainNodeId) => string;

/** One channel per peer node, shared by every caller in this process. */
export class NodeConnections {
  private readonly channels = new Map<PlainNodeId, RpcChannel>();

  constructor(private readonly resolve: AddressResolver) {}

  channel(node: PlainNodeId): RpcChannel {
    let channel = this.channels.get(node);
    if (!channel) {
      channel = new RpcChannel(() => this.resolve(node));
      this.channels.set(node, channel);
    }
    return channel;
  }

  close(): void {
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }
}
