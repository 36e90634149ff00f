import type { ServiceImpl } from "@connectrpc/connect";
import type { LogChain } from "../../metadata/documents.ts";
import { TailState, type ClusterCtrlSvc } from "../../net/ctl/gen/cluster_ctrl_svc_pb.ts";
import { encodeJsonBlob } from "../../net/ctl/json-blob.ts";
import { LOCAL_SCOPE, LOCAL_SCOPE_HEADER } from "../../net/ctl/peer-client.ts";
import { partitionReplicas, replicationText, restateChain, restateLogs, restateNodesConfiguration } from "../../net/ctl/restate-documents.ts";
import { NotFoundError, UnavailableError } from "../../types/errors.ts";
import { LogId } from "../../types/ids.ts";
import { clusterNodes } from "./cluster-state.ts";
import { refuse, type ControlContext } from "./control-context.ts";
import { createPartitionSnapshot } from "./partition-snapshot.ts";
import type { WorkerSource } from "./sources.ts";

/** `ClusterCtrlSvc`: cluster state, logs, tails and configuration, as restatectl asks an admin node. */
export function clusterCtrlService(ctx: ControlContext): ServiceImpl<typeof ClusterCtrlSvc> {
  return {
    async getClusterState(_request, call) {
      const [nodes, table, logs] = await Promise.all([ctx.documents.nodes(), ctx.documents.partitionTable(), ctx.documents.logs()]);
      const localOnly = call.requestHeader.get(LOCAL_SCOPE_HEADER) === LOCAL_SCOPE;
      return {
        clusterState: {
          lastRefreshed: { seconds: 0n, nanos: 0 },
          nodesConfigVersion: { value: nodes?.version ?? 0 },
          partitionTableVersion: { value: table?.version ?? 0 },
          logsMetadataVersion: { value: logs?.version ?? 0 },
          nodes: await clusterNodes(ctx, nodes?.doc ?? null, localOnly),
        },
      };
    },

    async listLogs() {
      const logs = await ctx.documents.logs();
      if (logs === null) throw new NotFoundError("there are no logs yet", "logs_not_found");
      return { logs: encodeJsonBlob(restateLogs(logs.doc, logs.version, ctx.logReplication)) };
    },

    async describeLog(request) {
      const [logs, nodes] = await Promise.all([ctx.documents.logs(), ctx.documents.nodes()]);
      const chain = chainOf(logs?.doc.logs, request.logId);
      const worker = ctx.worker();
      const tail = worker === null ? null : await tailOf(worker, chain);
      return {
        logId: request.logId,
        logsVersion: logs?.version ?? 0,
        chain: encodeJsonBlob(restateChain(chain)),
        tailState: tail === null ? TailState.TailState_UNKNOWN : tail.state,
        tailOffset: tail?.lsn ?? 0n,
        trimPoint: worker === null ? 0n : BigInt(await worker.log.getTrimPoint(chain.logId)),
        nodesConfiguration: nodes === null ? new Uint8Array(0) : encodeJsonBlob(restateNodesConfiguration(nodes.doc, nodes.version)),
      };
    },

    async findTail(request) {
      const logs = await ctx.documents.logs();
      const chain = chainOf(logs?.doc.logs, request.logId);
      const worker = ctx.worker();
      if (worker === null) throw new UnavailableError("this node does not run the worker role, which reads the logs; ask a worker", "no_log_reader");
      const tail = await tailOf(worker, chain);
      return { logId: request.logId, segmentIndex: tail.segmentIndex, tailState: tail.state, tailLsn: tail.lsn };
    },

    async getClusterConfiguration() {
      const [table, logs] = await Promise.all([ctx.documents.partitionTable(), ctx.documents.logs()]);
      const provider = logs?.doc.defaultProvider ?? "local";
      const replication = { replicationProperty: replicationText(ctx.logReplication) };
      return {
        clusterConfiguration: {
          numPartitions: table?.doc.partitions.length ?? 0,
          partitionReplication: { replicationProperty: replicationText(table === null ? 1 : partitionReplicas(table.doc)) },
          bifrostProvider: { provider, ...(provider === "replicated" ? { replicationProperty: replication } : {}), targetNodesetSize: 0 },
        },
      };
    },

    trimLog: refuse("logs trim", "ClusterCtrlSvc/TrimLog"),
    createPartitionSnapshot: (request, call) => createPartitionSnapshot(ctx, request, call.requestHeader.get(LOCAL_SCOPE_HEADER) === LOCAL_SCOPE),
    sealAndExtendChain: refuse("logs reconfigure", "ClusterCtrlSvc/SealAndExtendChain"),
    sealChain: refuse("logs seal", "ClusterCtrlSvc/SealChain"),
    setClusterConfiguration: refuse("config set", "ClusterCtrlSvc/SetClusterConfiguration"),
    query: refuse("sql", "ClusterCtrlSvc/Query", "query with `restate sql` or POST /query on the admin API instead"),
    migrateMetadata: refuse("metadata migrate", "ClusterCtrlSvc/MigrateMetadata"),
    syncEpochMetadata: refuse("partitions leadership", "ClusterCtrlSvc/SyncEpochMetadata"),
  };
}

/** The chain of a log the `Logs` document lists; asking Bifrost for any other log would create it. */
function chainOf(chains: readonly LogChain[] | undefined, logId: number): LogChain {
  const chain = chains?.find((c) => c.logId === logId);
  if (chain === undefined) throw new NotFoundError(`log ${logId} does not exist`, "log_not_found");
  return chain;
}

async function tailOf(worker: WorkerSource, chain: LogChain): Promise<{ segmentIndex: number; state: TailState; lsn: bigint }> {
  const tail = await worker.log.describeTail(LogId(chain.logId));
  return { segmentIndex: tail.segmentIndex, state: tail.sealed ? TailState.SEALED : TailState.OPEN, lsn: BigInt(tail.tail) };
}
