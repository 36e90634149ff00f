import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CreatePartitionSnapshotRequest, CreatePartitionSnapshotResponseSchema } from "../../net/ctl/gen/cluster_ctrl_svc_pb.ts";
import { LOCAL_SCOPE, LOCAL_SCOPE_HEADER, withPeerClusterCtrl } from "../../net/ctl/peer-client.ts";
import { ConflictError, NotFoundError } from "../../types/errors.ts";
import { PartitionId } from "../../types/ids.ts";
import type { ControlContext } from "./control-context.ts";

type SnapshotResponse = MessageInitShape<typeof CreatePartitionSnapshotResponseSchema>;

/**
 * `restatectl snapshots create`: a snapshot of the partition, taken by its leader. Asked of a node
 * that does not lead it, the call goes on to the node the log announced as leader; with no replica
 * here, to every other node in turn (each answers only for itself). A replica that is here but
 * whose leader is unknown takes the snapshot itself: any replica's store is a snapshot of the log.
 */
export async function createPartitionSnapshot(ctx: ControlContext, request: CreatePartitionSnapshotRequest, localOnly: boolean): Promise<SnapshotResponse> {
  const partition = PartitionId(request.partitionId);
  const worker = ctx.worker();
  const processor = worker?.processors.get(partition);
  if (!localOnly && processor?.isLeader !== true) {
    const leader = processor?.announcedLeader?.nodeId;
    if (leader !== undefined && leader !== ctx.me.id) return forward(ctx, request, [leader]);
    if (processor === undefined) return forward(ctx, request, null);
  }
  if (worker === null || processor === undefined) throw new NotFoundError(`partition ${partition} has no replica on node N${ctx.me.id}`, "partition_not_here");
  if (worker.snapshots === null) {
    throw new ConflictError("no snapshot repository is configured: set snapshots.destination (--snapshot-destination)", "no_snapshot_repository");
  }
  if (request.minTargetLsn !== undefined && BigInt(processor.appliedLsn) < request.minTargetLsn) {
    throw new ConflictError(
      `partition ${partition} has applied its log up to LSN ${processor.appliedLsn}, below the minimum ${request.minTargetLsn} asked for; no snapshot taken`,
      "snapshot_below_min_lsn",
    );
  }
  const taken = await worker.snapshots.create(partition);
  const logId = worker.logOf(partition);
  // The snapshot is in the repository: its LSN is now archived, so trimming to it is safe in a cluster too.
  if (request.trimLog) await worker.log.trim(logId, taken.appliedLsn);
  return { snapshotId: taken.snapshotId, logId, minAppliedLsn: BigInt(taken.appliedLsn) };
}

/** Asks `nodeIds` (every other node when null), one after another, for the snapshot; the first that takes it answers. */
async function forward(ctx: ControlContext, request: CreatePartitionSnapshotRequest, nodeIds: readonly number[] | null): Promise<SnapshotResponse> {
  const nodes = (await ctx.documents.nodes())?.doc.nodes ?? [];
  const peers = nodes.filter((n) => n.id !== ctx.me.id && (nodeIds === null || nodeIds.includes(n.id)));
  let lastError: unknown = new NotFoundError(`no node runs partition ${request.partitionId}`, "partition_not_found");
  for (const peer of peers) {
    try {
      return await withPeerClusterCtrl(peer.address, (client) => client.createPartitionSnapshot(request, { headers: { [LOCAL_SCOPE_HEADER]: LOCAL_SCOPE } }));
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
