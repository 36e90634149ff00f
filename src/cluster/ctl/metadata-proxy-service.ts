import type { ServiceImpl } from "@connectrpc/connect";
import type { MetadataProxySvc } from "../../net/ctl/gen/metadata_proxy_svc_pb.ts";
import { refuse, type ControlContext } from "./control-context.ts";
import { restateMetadataValue } from "./restate-metadata.ts";

/** `MetadataProxySvc`: reads of the metadata store through this node (`restatectl metadata get`). */
export function metadataProxyService(ctx: ControlContext): ServiceImpl<typeof MetadataProxySvc> {
  return {
    async get(request) {
      const value = await restateMetadataValue(ctx, request.key);
      return value === null ? {} : { value: { version: { value: value.version }, bytes: value.bytes } };
    },
    async getVersion(request) {
      const value = await restateMetadataValue(ctx, request.key);
      return value === null ? {} : { version: { value: value.version } };
    },
    put: refuse("metadata put", "MetadataProxySvc/Put"),
    delete: refuse("metadata delete", "MetadataProxySvc/Delete"),
  };
}
