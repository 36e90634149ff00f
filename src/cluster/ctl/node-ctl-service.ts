import type { ServiceImpl } from "@connectrpc/connect";
import { METADATA_KEYS, type StorageState } from "../../metadata/documents.ts";
import { IdentResponse_AddressKind, type NodeCtlSvc } from "../../net/ctl/gen/node_ctl_svc_pb.ts";
import { AdminStatus, LogServerStatus, MetadataKind, MetadataServerStatus, NodeStatus, WorkerStatus } from "../../net/ctl/gen/restate/common_pb.ts";
import { fabricUrl, restateRoles } from "../../net/ctl/restate-documents.ts";
import { NotFoundError } from "../../types/errors.ts";
import { refuse, RestatectlCommandNotSupportedError, type ControlContext } from "./control-context.ts";
import { restateMetadataValue } from "./restate-metadata.ts";

/** Restate's name for the node port among a node's addresses. */
const NODE_PORT_NAME = "message-fabric-server";

/** The metadata keys behind `GetMetadata`'s kinds; the schema is Reprise's own format, not Restate's. */
const KEY_OF_KIND: Partial<Record<MetadataKind, string>> = {
  [MetadataKind.NODES_CONFIGURATION]: METADATA_KEYS.nodesConfiguration,
  [MetadataKind.LOGS]: METADATA_KEYS.logs,
  [MetadataKind.PARTITION_TABLE]: METADATA_KEYS.partitionTable,
};

/** `NodeCtlSvc`: who this node is and which metadata it holds; restatectl starts every command here. */
export function nodeCtlService(ctx: ControlContext): ServiceImpl<typeof NodeCtlSvc> {
  return {
    async getIdent() {
      const [nodes, logs, table, schema] = await Promise.all([
        ctx.documents.nodes(),
        ctx.documents.logs(),
        ctx.documents.partitionTable(),
        ctx.metadata.get(METADATA_KEYS.schema),
      ]);
      const worker = ctx.roles.includes("worker") ? (ctx.worker() === null ? "starting" : "ready") : "absent";
      const storageState = nodes?.doc.nodes.find((n) => n.id === ctx.me.id)?.logServer?.storageState;
      return {
        status: NodeStatus.ALIVE,
        nodeId: { id: ctx.me.id, generation: ctx.me.generation },
        clusterName: ctx.clusterName,
        roles: restateRoles(ctx.roles),
        ageS: BigInt(Math.floor((Date.now() - ctx.startedAtMs) / 1000)),
        adminStatus: { absent: AdminStatus.AdminStatus_UNKNOWN, starting: AdminStatus.AdminStatus_STARTING_UP, ready: AdminStatus.AdminStatus_READY }[worker],
        workerStatus: { absent: WorkerStatus.WorkerStatus_UNKNOWN, starting: WorkerStatus.WorkerStatus_STARTING_UP, ready: WorkerStatus.WorkerStatus_READY }[worker],
        logServerStatus: ctx.roles.includes("log-server") ? logServerStatus(storageState) : LogServerStatus.LogServerStatus_UNKNOWN,
        metadataServerStatus: MetadataServerStatus.MetadataServerStatus_UNKNOWN,
        nodesConfigVersion: nodes?.version ?? 0,
        logsVersion: logs?.version ?? 0,
        schemaVersion: schema?.version ?? 0,
        partitionTableVersion: table?.version ?? 0,
        boundAddresses: [{ name: NODE_PORT_NAME, address: ctx.boundAddress, kind: IdentResponse_AddressKind.TCP }],
        advertisedAddresses: [{ name: NODE_PORT_NAME, address: fabricUrl(ctx.advertisedAddress), kind: IdentResponse_AddressKind.HTTP }],
      };
    },

    async getMetadata(request) {
      const key = KEY_OF_KIND[request.kind];
      if (key === undefined) {
        throw new RestatectlCommandNotSupportedError(
          `reading metadata kind ${MetadataKind[request.kind]}`,
          "NodeCtlSvc/GetMetadata",
          "Reprise keeps that document in its own format; read it with `restatectl metadata get --key <key>` or the admin API",
        );
      }
      const value = await restateMetadataValue(ctx, key);
      if (value === null) throw new NotFoundError(`this node has no ${key} document yet`, "metadata_not_found");
      return { encoded: value.bytes };
    },

    provisionCluster: refuse("provision", "NodeCtlSvc/ProvisionCluster"),
    triggerCompaction: refuse("storage compact", "NodeCtlSvc/TriggerCompaction"),
  };
}

/** A log server serves once read-write or read-only; provisioning is its start; otherwise it refuses work. */
function logServerStatus(state: StorageState | undefined): LogServerStatus {
  switch (state) {
    case undefined:
    case "provisioning":
      return LogServerStatus.LogServerStatus_STARTING_UP;
    case "read-write":
    case "read-only":
      return LogServerStatus.LogServerStatus_READY;
    case "data-loss":
    case "disabled":
      return LogServerStatus.LogServerStatus_FAILSAFE;
  }
}
