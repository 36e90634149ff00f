import type { Logger } from "../common/logger.ts";
import { decodeDocument, METADATA_KEYS, type NodesConfiguration } from "../metadata/documents.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { UnavailableError, errorMessage } from "../types/errors.ts";
import type { PlainNodeId } from "../types/ids.ts";
import { NodeConnections, type LocalNode } from "./connections.ts";

export class UnknownNodeError extends UnavailableError {
  constructor(node: PlainNodeId) {
    super(`node N${node} has no address in the nodes configuration (yet)`, "unknown_node");
  }
}

/**
 * Node addresses from `NodesConfiguration`, kept current by a watch, and the connections that use
 * them: a peer that restarts on a new address is reached there on the next reconnect.
 */
export class NodeDirectory {
  readonly connections: NodeConnections;
  private addresses = new Map<PlainNodeId, string>();
  private readonly unwatch: () => void;

  private constructor(
    private readonly metadata: MetadataStore,
    private readonly log: Logger,
    local: LocalNode | undefined,
  ) {
    this.connections = new NodeConnections((node) => this.address(node), local);
    this.unwatch = metadata.watch(METADATA_KEYS.nodesConfiguration, (e) => e.value && this.apply(e.value.value));
  }

  /** With `local`, calls to this node are answered in process (see `NodeConnections`). */
  static async open(metadata: MetadataStore, log: Logger, local?: LocalNode): Promise<NodeDirectory> {
    const dir = new NodeDirectory(metadata, log, local);
    await dir.refresh();
    return dir;
  }

  address(node: PlainNodeId): string {
    const address = this.addresses.get(node);
    if (address !== undefined) return address;
    // Maybe a watch event was missed: look again for the next call, fail this one.
    this.refresh().catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, "re-reading the nodes configuration failed"));
    throw new UnknownNodeError(node);
  }

  async refresh(): Promise<void> {
    const stored = await this.metadata.get(METADATA_KEYS.nodesConfiguration);
    if (stored) this.apply(stored.value);
  }

  close(): void {
    this.unwatch();
    this.connections.close();
  }

  private apply(bytes: Uint8Array): void {
    try {
      const config = decodeDocument<NodesConfiguration>(bytes);
      this.addresses = new Map(config.nodes.map((n) => [n.id, n.address]));
    } catch (e) {
      this.log.error({ err: errorMessage(e) }, "undecodable NodesConfiguration; keeping the previous addresses");
    }
  }
}
