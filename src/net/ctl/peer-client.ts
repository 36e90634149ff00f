import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ClusterCtrlSvc } from "./gen/cluster_ctrl_svc_pb.ts";
import { fabricUrl } from "./restate-documents.ts";

/**
 * Request header of a node asking a peer for the peer's own entry of the cluster state only: the
 * node restatectl asks gathers the others' this way, and a peer asked so does not ask further.
 */
export const LOCAL_SCOPE_HEADER = "reprise-cluster-state-scope";
export const LOCAL_SCOPE = "local";

/** Runs `call` with a ClusterCtrlSvc client for the node at `address`, then drops the connection. */
export async function withPeerClusterCtrl<T>(address: string, call: (client: Client<typeof ClusterCtrlSvc>) => Promise<T>): Promise<T> {
  const url = fabricUrl(address);
  const sessions = new Http2SessionManager(url);
  try {
    return await call(createClient(ClusterCtrlSvc, createGrpcTransport({ baseUrl: url, sessionManager: sessions })));
  } finally {
    sessions.abort();
  }
}
