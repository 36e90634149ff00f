import { RepriseError } from "../types/errors.ts";

/** A snapshot was read after `release()`: a bug in the caller, its reads would no longer be consistent. */
export class SnapshotReleasedError extends RepriseError {
  constructor(path: string) {
    super("snapshot_released", `read from a released snapshot of ${path}`, false);
  }
}

/** An in-memory store has no file a second connection could open, so it cannot serve snapshots. */
export class SnapshotUnsupportedError extends RepriseError {
  constructor(path: string) {
    super("snapshot_unsupported", `partition store ${path} is in memory and cannot open snapshots`, false);
  }
}

/** A table the store does not have, or one it cannot list in key order: the caller's or the schema's bug. */
export class TableScanError extends RepriseError {
  constructor(path: string, message: string) {
    super("table_scan_failed", `partition store ${path}: ${message}`, false);
  }
}
