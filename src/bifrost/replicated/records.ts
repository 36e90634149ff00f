import { CorruptionError, UnavailableError } from "../../types/errors.ts";
import type { PlainNodeId } from "../../types/ids.ts";
import { noteFailure, type LogletContext } from "./context.ts";

/** Bytes of records one read asks a server for. */
export const READ_BATCH_BYTES = 1 << 20;

export interface Collected {
  readonly records: Map<number, Uint8Array>;
  /** Highest trim point any server reported. */
  readonly trimPoint: number;
  /** Highest global tail any server reported. */
  readonly knownGlobalTail: number;
  readonly errors: unknown[];
}

/**
 * Gathers the records of [from, to] from the log servers in `order`: each server is asked only for
 * the span still missing, so gaps on one replica are filled from the next. A server with a corrupt
 * copy is skipped like an unreachable one. Stops once `enough(records)` holds or every server was asked.
 */
export async function collectRecords(
  ctx: LogletContext,
  from: number,
  to: number,
  order: readonly PlainNodeId[],
  knownGlobalTail: number,
  enough: (records: Map<number, Uint8Array>) => boolean,
): Promise<Collected> {
  const records = new Map<number, Uint8Array>();
  const errors: unknown[] = [];
  let trimPoint = 0;
  let globalTail = knownGlobalTail;
  for (const node of order) {
    if (enough(records)) break;
    let lo = from;
    while (lo <= to && records.has(lo)) lo++;
    let hi = to;
    while (hi >= lo && records.has(hi)) hi--;
    if (lo > hi) break;
    try {
      // A response may stop early at its byte limit; continue where it stopped.
      for (let next = lo; next <= hi; ) {
        const res = await ctx.servers.client(node).getRecords(
          { header: ctx.servers.header(ctx.id, globalTail), fromOffset: next, toOffset: hi, maxBytes: READ_BATCH_BYTES },
          { timeoutMs: ctx.timeouts.readMs, signal: ctx.signal },
        );
        for (const r of res.records) if (!records.has(r.offset)) records.set(r.offset, r.payload);
        trimPoint = Math.max(trimPoint, res.state?.trimPoint ?? 0);
        globalTail = Math.max(globalTail, res.state?.knownGlobalTail ?? 0);
        if (res.nextOffset <= next) break;
        next = res.nextOffset;
        if (enough(records)) break;
      }
      ctx.servers.markOk(node);
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      if (e instanceof CorruptionError) ctx.log.error({ node, err: e.message }, "log server holds a corrupt copy; reading from other replicas");
      errors.push(noteFailure(ctx, node, "getRecords", e));
    }
  }
  return { records, trimPoint, knownGlobalTail: globalTail, errors };
}

/** A record that every reachable replica lacks, below the committed tail. */
export class RecordUnavailableError extends UnavailableError {
  constructor(id: string, offset: number, errors: unknown[]) {
    super(`loglet ${id}: record ${offset} is on no reachable log server (${errors.length} servers failed)`, "record_unavailable", {
      cause: errors[0],
    });
  }
}
