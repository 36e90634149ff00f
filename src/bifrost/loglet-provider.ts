import type { ProviderKind, SegmentConfig } from "../metadata/documents.ts";
import type { LogId } from "../types/ids.ts";
import type { Loglet } from "./loglet.ts";

/** Makes the loglets of one `ProviderKind`; Bifrost picks the provider named by each segment. */
export interface LogletProvider {
  readonly kind: ProviderKind;
  /**
   * Opens the loglet of a segment, creating it on first use. Repeated calls for the same segment
   * return the same instance, so Bifrost may call this on every access.
   */
  getLoglet(logId: LogId, segment: SegmentConfig): Promise<Loglet>;
  /** Closes every loglet it opened. */
  close(): Promise<void>;
}
