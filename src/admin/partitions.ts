import { sendJson } from "../common/http-util.ts";
import type { VerifyReport } from "../partition/verify.ts";
import { sqlLiteral, type StoreDifference } from "../storage/compare.ts";
import { PartitionId } from "../types/ids.ts";
import type { AdminRoute } from "./server.ts";

/** Rebuilds partition `pid` from its log and compares it with this node's replica (`verifyPartition`). */
export type PartitionVerifier = (pid: PartitionId) => Promise<VerifyReport>;

/**
 * `POST /partitions/{id}/verify`: 200 with `identical` and the LSN compared at, and the first
 * difference (table, key, differing columns, both rows) when there is one.
 */
export function partitionRoutes(verify: PartitionVerifier): AdminRoute[] {
  return [
    {
      method: "POST",
      pattern: /^\/partitions\/(\d+)\/verify$/,
      async handle(_req, res, m) {
        const report = await verify(PartitionId(Number(m[1])));
        sendJson(res, 200, {
          partition_id: report.partitionId,
          applied_lsn: report.appliedLsn,
          from_snapshot_lsn: report.fromSnapshotLsn,
          replayed: report.replayed,
          identical: report.difference === null,
          summary: report.summary,
          ...(report.difference !== null ? { difference: differenceJson(report.difference) } : {}),
        });
      },
    },
  ];
}

/** Values as SQL literals, so blobs and text read the same way as in the summary. */
function differenceJson(d: StoreDifference): Record<string, unknown> {
  if (d.kind === "table") return { table: d.table, only_in: d.onlyIn === "left" ? "live" : "rebuilt" };
  const literals = (row: Readonly<Record<string, unknown>> | null) => (row === null ? null : Object.fromEntries(Object.entries(row).map(([c, v]) => [c, sqlLiteral(v)])));
  return { table: d.table, key: literals(d.key), columns: d.columns, live: literals(d.left), rebuilt: literals(d.right) };
}
