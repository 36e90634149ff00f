import type { Logger } from "../../common/logger.ts";
import type { Role } from "../../metadata/documents.ts";
import type { MetadataStore } from "../../metadata/metadata-store.ts";
import { RepriseError } from "../../types/errors.ts";
import type { GenerationalNodeId } from "../../types/ids.ts";
import type { ClusterDocuments } from "./cluster-documents.ts";
import type { WorkerSource } from "./sources.ts";

/** What the restatectl API of one node answers from. */
export interface ControlContext {
  readonly me: GenerationalNodeId;
  readonly clusterName: string;
  /** Reprise roles of this node. */
  readonly roles: readonly Role[];
  /** Where the node port is bound (`host:port`) and where peers and restatectl reach it. */
  readonly boundAddress: string;
  readonly advertisedAddress: string;
  readonly startedAtMs: number;
  readonly metadata: MetadataStore;
  readonly documents: ClusterDocuments;
  /** The worker role once it runs; null on a node without it (a log server only). */
  readonly worker: () => WorkerSource | null;
  /** Copies of each record in new replicated log segments (`cluster.replication`). */
  readonly logReplication: number;
  readonly logger: Logger;
}

/** Why most refused commands are refused. */
const CHANGES_THE_CLUSTER =
  "it changes the cluster, which Reprise does only through its own configuration; Reprise answers restatectl's " +
  "read-only commands (status, nodes list, logs list|describe|find-tail, partitions list, config get, metadata get) and snapshots create";

/** A restatectl command Reprise does not serve, with the reason and where to go instead. */
export class RestatectlCommandNotSupportedError extends RepriseError {
  constructor(command: string, rpc: string, reason: string = CHANGES_THE_CLUSTER) {
    super("restatectl_not_supported", `restatectl ${command} is not supported by Reprise (${rpc}): ${reason}`, false, 501);
  }
}

/** A handler that refuses its call; it takes no arguments, so it stands in for any ConnectRPC method. */
export function refuse(command: string, rpc: string, reason?: string): () => never {
  return () => {
    throw new RestatectlCommandNotSupportedError(command, rpc, reason);
  };
}
