import { sendJson } from "../common/http-util.ts";
import type { SnapshotManifest } from "../snapshots/manifest.ts";
import { BadRequestError } from "../types/errors.ts";
import { PartitionId, type Lsn } from "../types/ids.ts";
import { parseJsonObject, type AdminRoute } from "./server.ts";

/** One partition replica on this node as `GET /snapshots` reports it. */
export interface PartitionSnapshotStatus {
  readonly partitionId: PartitionId;
  readonly leader: boolean;
  readonly appliedLsn: Lsn;
  /** Applied LSN of the newest snapshot in the repository; null without a repository or when it did not answer. */
  readonly archivedLsn: Lsn | null;
  /** The log's trim point; null when the log did not answer. */
  readonly trimPoint: Lsn | null;
}

/** What the snapshot routes need of the node. */
export interface SnapshotAdmin {
  /** The repository's URL; null when none is configured. */
  readonly repository: string | null;
  /** Snapshots `partition` now, or every partition led on this node when null. */
  create(partition: PartitionId | null): Promise<SnapshotManifest[]>;
  status(): Promise<PartitionSnapshotStatus[]>;
}

/**
 * `POST /snapshots` (`{}` or `{"partition": 1}`): takes snapshots now and answers their manifests.
 * `GET /snapshots`: per partition replica, its applied and archived LSN and its log's trim point.
 */
export function snapshotRoutes(admin: SnapshotAdmin): AdminRoute[] {
  return [
    {
      method: "POST",
      pattern: /^\/snapshots$/,
      async handle(_req, res, _m, body) {
        const { partition } = body.length === 0 ? {} : parseJsonObject(body);
        if (partition !== undefined && partition !== null && !(Number.isInteger(partition) && (partition as number) >= 0)) {
          throw new BadRequestError(`'partition' must be a partition id (a non-negative integer), got ${JSON.stringify(partition)}`, "invalid_partition");
        }
        const manifests = await admin.create(partition === undefined || partition === null ? null : PartitionId(partition as number));
        sendJson(res, 200, { repository: admin.repository, snapshots: manifests.map(manifestJson) });
      },
    },
    {
      method: "GET",
      pattern: /^\/snapshots$/,
      async handle(_req, res) {
        const rows = await admin.status();
        sendJson(res, 200, {
          repository: admin.repository,
          partitions: rows.map((r) => ({
            partition_id: r.partitionId,
            leader: r.leader,
            applied_lsn: r.appliedLsn,
            archived_lsn: r.archivedLsn,
            trim_point: r.trimPoint,
          })),
        });
      },
    },
  ];
}

function manifestJson(m: SnapshotManifest): Record<string, unknown> {
  return {
    snapshot_id: m.snapshotId,
    partition_id: m.partitionId,
    applied_lsn: m.appliedLsn,
    leader_epoch: m.leaderEpoch,
    cluster_name: m.clusterName,
    node_name: m.nodeName,
    created_at: m.createdAt,
    size_bytes: m.sizeBytes,
    sha256: m.sha256,
  };
}
