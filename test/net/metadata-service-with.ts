import { MetadataService } from "../../src/net/gen/metadata_pb.ts";
import { metadataServiceImpl } from "../../src/net/metadata-service.ts";
import type { ServiceImpl } from "../../src/net/server.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";

/** A metadata service over an in-memory store whose `get` first does what `onGet` says, to provoke each outcome of a call. */
export function metadataServiceWith(onGet: (key: string, signal: AbortSignal) => Promise<void>): ServiceImpl<typeof MetadataService> {
  const base = metadataServiceImpl(new InMemoryMetadataStore());
  return {
    ...base,
    get: async (req, ctx) => {
      await onGet(req.key, ctx.signal);
      return base.get(req, ctx);
    },
  };
}
