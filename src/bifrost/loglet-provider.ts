import type { ProviderKind, SegmentConfig } from "../metadata/documents.ts";
import type { LogId } from "../types/ids.ts";
import type { Loglet } from "./loglet.ts";

/** Makes the loglets of one `ProviderKind`; Bifrost picks the provider named by each segment. */
export interface LogletProvider {
  readonly kind: ProviderKind;
  /**
   * Its loglets are sealed only through this process, and the chain never moves past one before
   * it is sealed: a tail wait is released by the seal itself and needs no watch on the chain. True
   * for loglets in this node's files; false for loglets any node can seal.
   */
  readonly sealsOnlyHere: boolean;
  /**
   * Opens the loglet of a segment, creating it on first use. Repeated calls for the same segment
   * return the same instance, so Bifrost may call this on every access.
   */
  getLoglet(logId: LogId, segment: SegmentConfig): Promise<Loglet>;
  /** Closes every loglet it opened. */
  close(): Promise<void>;
}
