import type { Bifrost } from "../bifrost/bifrost.ts";
import { Lsn, type LogId } from "../types/ids.ts";

/**
 * Collects records proposed in the same tick and appends them as one batch, so concurrent
 * invocations share one durable write. Order of `append` calls is the order in the log.
 */
export class BatchingAppender {
  private pending: { payload: Uint8Array; resolve: (lsn: Lsn) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly bifrost: Bifrost,
    private readonly logId: LogId,
    private readonly maxBatch = 512,
  ) {}

  append(payload: Uint8Array): Promise<Lsn> {
    return new Promise((resolve, reject) => {
      this.pending.push({ payload, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      this.bifrost.append(this.logId, batch.map((p) => p.payload)).then(
        (last) => batch.forEach((p, i) => p.resolve(Lsn(last - (batch.length - 1 - i)))),
        (err) => batch.forEach((p) => p.reject(err)),
      );
    }
  }
}
