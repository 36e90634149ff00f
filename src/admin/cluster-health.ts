import { sendJson } from "../common/http-util.ts";
import type { AdminRoute } from "./server.ts";

export interface ClusterHealthOptions {
  readonly clusterName: string;
  /**
   * The nodes of an embedded metadata store (a single node's own SQLite store: itself), as
   * Restate reports its embedded metadata cluster; undefined for an external store (etcd).
   */
  readonly embeddedMetadataMembers?: readonly number[];
}

/** `GET /cluster-health` (deprecated in Restate 1.7, still served): the cluster's name and its embedded metadata members. */
export function clusterHealthRoutes(o: ClusterHealthOptions): AdminRoute[] {
  return [
    {
      method: "GET",
      pattern: /^\/cluster-health$/,
      async handle(_req, res) {
        sendJson(res, 200, { cluster_name: o.clusterName, metadata_cluster_health: o.embeddedMetadataMembers ? { members: o.embeddedMetadataMembers } : null });
      },
    },
  ];
}
