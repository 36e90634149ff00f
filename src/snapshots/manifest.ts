import { LeaderEpoch, Lsn, PartitionId } from "../types/ids.ts";
import { InvalidSnapshotError } from "./errors.ts";

/** Version of the snapshot layout: the data file is a partition store file of this Reprise's schema. */
export const SNAPSHOT_FORMAT_VERSION = 1;

/** What a snapshot is: written after its data, read before it is installed. */
export interface SnapshotManifest {
  readonly formatVersion: number;
  /** Unique within the partition; part of the snapshot's key. */
  readonly snapshotId: string;
  readonly partitionId: PartitionId;
  /** The store holds the partition's log applied up to here: the tail replays from the next LSN. */
  readonly appliedLsn: Lsn;
  readonly leaderEpoch: LeaderEpoch;
  readonly clusterName: string;
  /** Name of the node that took it. */
  readonly nodeName: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Of the data file. */
  readonly sizeBytes: number;
  /** Hex SHA-256 of the data file. */
  readonly sha256: string;
}

export function encodeManifest(m: SnapshotManifest): Uint8Array {
  return Buffer.from(JSON.stringify(m, null, 2));
}

/** Reads a manifest, refusing anything that is not one (bad JSON, a missing or mistyped field, an unknown format). */
export function decodeManifest(bytes: Uint8Array, where: string): SnapshotManifest {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString("utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new InvalidSnapshotError(where, `manifest is not JSON: ${(e as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null) throw new InvalidSnapshotError(where, "manifest is not a JSON object");
  const int = (name: string): number => {
    const v = raw[name];
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw new InvalidSnapshotError(where, `manifest field '${name}' must be a non-negative integer`);
    return v as number;
  };
  const str = (name: string): string => {
    const v = raw[name];
    if (typeof v !== "string" || v === "") throw new InvalidSnapshotError(where, `manifest field '${name}' must be a non-empty string`);
    return v;
  };
  const formatVersion = int("formatVersion");
  if (formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    throw new InvalidSnapshotError(where, `format version ${formatVersion} is not supported (this node reads version ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const sha256 = str("sha256");
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new InvalidSnapshotError(where, "manifest field 'sha256' must be 64 hex digits");
  return {
    formatVersion,
    snapshotId: str("snapshotId"),
    partitionId: PartitionId(int("partitionId")),
    appliedLsn: Lsn(int("appliedLsn")),
    leaderEpoch: LeaderEpoch(int("leaderEpoch")),
    clusterName: str("clusterName"),
    nodeName: str("nodeName"),
    createdAt: str("createdAt"),
    sizeBytes: int("sizeBytes"),
    sha256,
  };
}
