import type { PlainNodeId } from "../types/ids.ts";
import { RpcChannel, type Channel } from "./client.ts";
import { LocalChannel } from "./local-channel.ts";
import type { RpcServer } from "./server.ts";

/** Resolves a node's advertised RPC address (`host:port`) at connect time; throws if the node is unknown. */
export type AddressResolver = (node: PlainNodeId) => string;

/** This process's node: its id, its RPC server and the address it advertises. */
export interface LocalNode {
  readonly node: PlainNodeId;
  readonly server: RpcServer;
  readonly address: string;
}

/** One channel per peer node, shared by every caller in this process. */
export class NodeConnections {
  private readonly channels = new Map<PlainNodeId, Channel>();

  /** With `local`, calls to this process's own node are answered by its server in process. */
  constructor(
    private readonly resolve: AddressResolver,
    local?: LocalNode,
  ) {
    if (local !== undefined) this.channels.set(local.node, new LocalChannel(local.server, local.address));
  }

  channel(node: PlainNodeId): Channel {
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
