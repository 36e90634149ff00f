import { CorruptionError, RepriseError } from "../types/errors.ts";
import type { Lsn, PartitionId } from "../types/ids.ts";

/** The snapshot repository did not answer or failed an operation: the same call may succeed later. */
export class SnapshotRepositoryUnavailableError extends RepriseError {
  constructor(url: string, operation: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("snapshot_repository_unavailable", `snapshot repository ${url}: ${operation} failed: ${reason}`, true, 503, { cause });
  }
}

/** A snapshot that must not be installed: checksum or size mismatch, unreadable or foreign manifest. */
export class InvalidSnapshotError extends CorruptionError {
  constructor(where: string, problem: string) {
    super(`snapshot ${where}: ${problem}`, "snapshot_invalid");
  }
}

/**
 * A partition's log is trimmed past what its store has applied and no snapshot covers the records
 * in between: applying on would silently lose them, so the partition stops and says what to do.
 */
export class TrimGapError extends RepriseError {
  constructor(
    readonly partitionId: PartitionId,
    /** First and last LSN of the trimmed records this store still needs. */
    readonly gap: { readonly from: Lsn; readonly to: Lsn },
    /** Why no snapshot helps: the repository's answer, or that none is configured. */
    reason: string,
  ) {
    super(
      "trim_gap",
      `partition ${partitionId}: its log is trimmed up to LSN ${gap.to}, but its store has applied only up to LSN ${gap.from - 1}, so records ${gap.from}..${gap.to} are gone and ${reason}. ` +
        "Point snapshots.destination (--snapshot-destination) at the snapshot repository that holds a snapshot of this partition at or after that LSN, or restore the partition store's file",
      false,
      500,
    );
  }
}
