import { ClusterCtrlSvc } from "../../net/ctl/gen/cluster_ctrl_svc_pb.ts";
import { MetadataProxySvc } from "../../net/ctl/gen/metadata_proxy_svc_pb.ts";
import { NodeCtlSvc } from "../../net/ctl/gen/node_ctl_svc_pb.ts";
import { grpcRoute } from "../../net/ctl/grpc-route.ts";
import type { RpcServer } from "../../net/server.ts";
import { clusterCtrlService } from "./cluster-ctrl-service.ts";
import type { ControlContext } from "./control-context.ts";
import { metadataProxyService } from "./metadata-proxy-service.ts";
import { nodeCtlService } from "./node-ctl-service.ts";

/** Restate's control-plane services all live in packages under `restate.`. */
const RESTATE_SERVICES = "/restate.";

/**
 * Serves the gRPC API the real `restatectl` talks to on the node's RPC server (the node port,
 * beside Reprise's own node-to-node RPCs): reads of nodes, logs, partitions and metadata; the
 * commands that would change the cluster are answered UNIMPLEMENTED, saying so.
 */
export function mountControlApi(rpc: RpcServer, ctx: ControlContext): void {
  rpc.mount(
    grpcRoute(
      RESTATE_SERVICES,
      (router) => {
        router.service(NodeCtlSvc, nodeCtlService(ctx));
        router.service(ClusterCtrlSvc, clusterCtrlService(ctx));
        router.service(MetadataProxySvc, metadataProxyService(ctx));
      },
      ctx.logger,
    ),
  );
}
