import { join } from "node:path";
import type { SegmentConfig } from "../../metadata/documents.ts";
import type { LogId } from "../../types/ids.ts";
import type { LogletProvider } from "../loglet-provider.ts";
import { LocalLoglet, type LocalLogletOptions } from "./local-loglet.ts";

/** Local loglets, one directory each: `<dir>/<logId>-<segmentIndex>/`. */
export class LocalLogletProvider implements LogletProvider {
  readonly kind = "local";
  readonly sealsOnlyHere = true;
  private readonly loglets = new Map<string, Promise<LocalLoglet>>();

  constructor(
    private readonly dir: string,
    private readonly options: LocalLogletOptions = {},
  ) {}

  getLoglet(logId: LogId, segment: SegmentConfig): Promise<LocalLoglet> {
    const id = `${logId}-${segment.index}`;
    let loglet = this.loglets.get(id);
    if (loglet === undefined) {
      loglet = LocalLoglet.open(id, join(this.dir, id), this.options);
      this.loglets.set(id, loglet);
      // A failed open (e.g. corruption) is reported to this caller; the next call tries again.
      loglet.catch(() => this.loglets.delete(id));
    }
    return loglet;
  }

  async close(): Promise<void> {
    const opened = await Promise.allSettled(this.loglets.values());
    this.loglets.clear();
    await Promise.all(opened.map((r) => (r.status === "fulfilled" ? r.value.close() : undefined)));
  }
}
