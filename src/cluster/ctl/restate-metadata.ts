import { METADATA_KEYS } from "../../metadata/documents.ts";
import { encodeJsonBlob, jsonTextBlob } from "../../net/ctl/json-blob.ts";
import { restateLogs, restateNodesConfiguration, restatePartitionTable } from "../../net/ctl/restate-documents.ts";
import { BadRequestError } from "../../types/errors.ts";
import { Version } from "../../types/ids.ts";
import type { ControlContext } from "./control-context.ts";

/** A metadata value as restatectl decodes it: its version and the codec-framed document. */
export interface RestateMetadataValue {
  readonly version: Version;
  readonly bytes: Uint8Array<ArrayBuffer>;
}

/**
 * The value under `key` in Restate's shape: the three documents restatectl understands are
 * translated; any other key's JSON document is passed on with its version added (restatectl's
 * `metadata get` prints any document that has one).
 */
export async function restateMetadataValue(ctx: ControlContext, key: string): Promise<RestateMetadataValue | null> {
  switch (key) {
    case METADATA_KEYS.nodesConfiguration: {
      const nodes = await ctx.documents.nodes();
      return nodes && { version: nodes.version, bytes: encodeJsonBlob(restateNodesConfiguration(nodes.doc, nodes.version)) };
    }
    case METADATA_KEYS.logs: {
      const logs = await ctx.documents.logs();
      return logs && { version: logs.version, bytes: encodeJsonBlob(restateLogs(logs.doc, logs.version, ctx.logReplication)) };
    }
    case METADATA_KEYS.partitionTable: {
      const table = await ctx.documents.partitionTable();
      return table && { version: table.version, bytes: encodeJsonBlob(restatePartitionTable(table.doc, table.version)) };
    }
  }
  const stored = await ctx.metadata.get(key);
  if (stored === null) return null;
  return { version: stored.version, bytes: withVersion(key, stored.value, stored.version) };
}

/** Reprise's documents are JSON objects of plain (safe) numbers, so a native round trip keeps them exact. */
function withVersion(key: string, value: Uint8Array, version: Version): Uint8Array<ArrayBuffer> {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(value).toString("utf8"));
  } catch {
    doc = undefined;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new BadRequestError(`metadata key '${key}' does not hold a JSON document`, "metadata_not_a_document");
  }
  return jsonTextBlob(JSON.stringify({ ...doc, version }));
}
