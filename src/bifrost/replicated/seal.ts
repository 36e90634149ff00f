import { setTimeout as sleep } from "node:timers/promises";
import type { LogletState } from "../../net/gen/log_server_pb.ts";
import { FencedNodeError } from "../../net/log-server-errors.ts";
import { RepriseError } from "../../types/errors.ts";
import type { PlainNodeId } from "../../types/ids.ts";
import { backoffMs, noteFailure, type LogletContext } from "./context.ts";
import { sealQuorum } from "../../net/loglet-params.ts";
import { collectRecords } from "./records.ts";

const DIGEST_CHUNK = 1 << 16;
const SEAL_GRACE_MS = 500;

/** Fewer servers than a seal quorum can vouch for their records (the others are in data-loss). */
export class SealQuorumUnavailableError extends RepriseError {
  constructor(id: string, authoritative: number, needed: number) {
    super("seal_quorum_unavailable", `loglet ${id}: only ${authoritative} servers can seal authoritatively, ${needed} needed`, false, 503);
  }
}

/**
 * Seals the loglet on the log servers: sends Seal to every server of the nodeset and retries the
 * ones that fail until n - r + 1 authoritative servers confirmed (then no write quorum is left
 * that could accept a record). Retries until that happens or the loglet closes. Once there is a
 * quorum the others get a short grace to answer as well: with every server in the answer, every
 * sealer of this loglet determines the same tail. Returns the confirmed servers' states.
 */
export async function sealOnServers(ctx: LogletContext, knownGlobalTail: number): Promise<Map<PlainNodeId, LogletState>> {
  const n = ctx.params.nodeset.length;
  const needed = sealQuorum(ctx.params);
  const sealed = new Map<PlainNodeId, LogletState>();
  const answered = new Set<PlainNodeId>();
  const done = new AbortController();
  const stop = AbortSignal.any([done.signal, ctx.signal]);
  await new Promise<void>((resolve, reject) => {
    let grace: NodeJS.Timeout | null = null;
    const finish = (error?: unknown): void => {
      if (grace) clearTimeout(grace);
      done.abort();
      if (error === undefined) resolve();
      else reject(error);
    };
    const check = (): void => {
      if (done.signal.aborted) return;
      if (ctx.signal.aborted) return finish(ctx.signal.reason);
      if (sealed.size >= needed) {
        if (answered.size === n) finish();
        else grace ??= setTimeout(finish, Math.min(SEAL_GRACE_MS, ctx.timeouts.rpcMs));
      } else if (answered.size === n) {
        // Every server answered but too few are authoritative: no retry can change that.
        finish(new SealQuorumUnavailableError(ctx.id, sealed.size, needed));
      }
    };
    for (const node of ctx.params.nodeset) {
      void (async () => {
        for (let attempt = 0; !stop.aborted; attempt++) {
          try {
            const res = await ctx.servers.client(node).seal(
              { header: ctx.servers.header(ctx.id, knownGlobalTail) },
              { timeoutMs: ctx.timeouts.rpcMs, signal: stop },
            );
            ctx.servers.markOk(node);
            answered.add(node);
            // A data-loss server is sealed but cannot vouch for records; it does not count.
            if (res.state?.authoritative) sealed.set(node, res.state);
            break;
          } catch (e) {
            if (stop.aborted) break;
            noteFailure(ctx, node, "seal", e);
            // This process is fenced: no server will listen to it again.
            if (e instanceof FencedNodeError) return finish(e);
            // A refusal (e.g. unknown loglet) is this server's answer; only transient failures are retried.
            if (e instanceof RepriseError && !e.retryable) {
              answered.add(node);
              break;
            }
            await sleep(backoffMs(ctx, attempt), undefined, { signal: stop }).catch(() => undefined);
          }
        }
        check();
      })();
    }
  });
  ctx.log.info({ loglet: ctx.id, sealedOn: [...sealed.keys()] }, "loglet sealed on a quorum of log servers");
  return sealed;
}

/**
 * The tail of a sealed loglet, made safe to read: every record below it is stored on `replication`
 * servers before this returns. `sealed` are the servers that confirmed the seal; `committed` is a
 * tail known to be committed (from the sequencer or Release messages).
 *
 * Any committed record is on at least one server of every (n - r + 1)-subset, so the first offset
 * that none of such a subset holds was never committed, and neither was anything after it (commits
 * advance as a prefix). The tail is therefore min(highest local tail, first such hole); records
 * below it that have fewer than `replication` copies are copied (repair stores) before it is
 * declared. Retries until the repair succeeds or the loglet closes.
 *
 * When fewer than `replication` servers answer (a nodeset no larger than the replication, one of
 * them dead), no repair can reach `replication` copies until that server returns, and waiting for
 * it would stop the log for as long as it stays away. The tail bound above still holds (n - r + 1
 * servers answered), and an acknowledged record keeps the copies it has on the absent servers, so
 * the records below the tail are copied to every answering server and the tail is declared; the
 * absent servers' copies count again when they return. Only a record that was never acknowledged
 * can end up on fewer than `replication` servers.
 */
export async function determineSealedTail(ctx: LogletContext, sealed: Map<PlainNodeId, LogletState>, committed: number): Promise<number> {
  const sealedBy = new Set(sealed.keys());
  const lo = Math.max(committed, 1, ...[...sealed.values()].map((s) => s.knownGlobalTail));
  const hi = Math.max(...[...sealed.values()].map((s) => s.localTail));
  if (hi <= lo) return lo;
  let tail: number | null = null;
  for (let attempt = 0; ; attempt++) {
    ctx.signal.throwIfAborted();
    if (attempt > 0) await sleep(backoffMs(ctx, attempt), undefined, { signal: ctx.signal });
    const round = await digests(ctx, lo, hi - 1, lo, sealedBy);
    if (round === null) continue;
    const { holders, answered } = round;
    // Fixed at the first round: later rounds could see stragglers fill a hole, which must not move it.
    if (tail === null) {
      tail = hi;
      for (let o = lo; o < hi; o++) {
        if ((holders.get(o)?.size ?? 0) === 0) {
          tail = o;
          break;
        }
      }
    }
    // The copies a repair can make now: `replication`, or every answering server if fewer answered.
    const reachable = Math.min(ctx.params.replication, answered.size);
    const under = [];
    for (let o = lo; o < tail; o++) if ((holders.get(o)?.size ?? 0) < reachable) under.push(o);
    if (under.length === 0) {
      if (reachable < ctx.params.replication) {
        const absent = ctx.params.nodeset.filter((n) => !answered.has(n));
        ctx.log.warn({ loglet: ctx.id, tail, repairedFrom: lo, copies: reachable, absent }, "sealed tail declared while log servers are unreachable: unacknowledged records below it may have fewer copies");
      } else ctx.log.info({ loglet: ctx.id, tail, repairedFrom: lo }, "sealed tail determined");
      return tail;
    }
    await repair(ctx, under, holders, committed);
  }
}

/** What one digest round found: which servers hold each offset, and which servers answered. */
interface DigestRound {
  readonly holders: Map<number, Set<PlainNodeId>>;
  readonly answered: ReadonlySet<PlainNodeId>;
}

/**
 * Which servers hold each offset of [from, to]; null unless n - r + 1 authoritative servers
 * answered. Once that many have, the round waits only for the servers that confirmed the seal
 * (`sealedBy`), and for them no longer than the seal's grace: a server that did not confirm it had
 * the seal's grace already, and a server cut off would otherwise hold every round up for its whole
 * timeout. The tail bound needs only the quorum; a copy on a server that did not answer in time is
 * just not counted (the repair then adds one more).
 */
async function digests(ctx: LogletContext, from: number, to: number, knownGlobalTail: number, sealedBy: ReadonlySet<PlainNodeId>): Promise<DigestRound | null> {
  const holders = new Map<number, Set<PlainNodeId>>();
  const answered = new Set<PlainNodeId>();
  const quorum = sealQuorum(ctx.params);
  const done = new AbortController();
  const stop = AbortSignal.any([done.signal, ctx.signal]);
  const settled = new Set<PlainNodeId>();
  let graceUp: () => void = () => undefined;
  const grace = new Promise<void>((resolve) => (graceUp = resolve));
  let graceTimer: NodeJS.Timeout | null = null;
  const asked = ctx.params.nodeset.map(async (node) => {
    try {
      const found: number[] = [];
      for (let lo = from; lo <= to; lo += DIGEST_CHUNK) {
        const res = await ctx.servers.client(node).getDigest(
          { header: ctx.servers.header(ctx.id, knownGlobalTail), fromOffset: lo, toOffset: Math.min(to, lo + DIGEST_CHUNK - 1) },
          { timeoutMs: ctx.timeouts.rpcMs, signal: stop },
        );
        if (!res.state?.authoritative) return;
        for (const o of res.offsets) found.push(o);
      }
      // Counted whole or not at all, and not after the round ended.
      if (done.signal.aborted) return;
      for (const o of found) {
        let set = holders.get(o);
        if (!set) holders.set(o, (set = new Set()));
        set.add(node);
      }
      answered.add(node);
    } catch (e) {
      if (e instanceof FencedNodeError) throw e;
      if (!done.signal.aborted) noteFailure(ctx, node, "getDigest", e);
    } finally {
      settled.add(node);
      if (done.signal.aborted) return;
      if (settled.size === ctx.params.nodeset.length || (answered.size >= quorum && [...sealedBy].every((n) => settled.has(n)))) graceUp();
      else if (answered.size >= quorum) graceTimer ??= setTimeout(graceUp, Math.min(SEAL_GRACE_MS, ctx.timeouts.rpcMs));
    }
  });
  const all = Promise.all(asked);
  // A fenced answer after the grace ended the round has no one left to tell.
  all.catch(() => undefined);
  try {
    await Promise.race([all, grace]);
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
    done.abort();
  }
  return answered.size >= quorum ? { holders, answered } : null;
}

/** Copies each offset in `under` to servers lacking it until `replication` servers hold it (as far as reachable now). */
async function repair(ctx: LogletContext, under: number[], holders: Map<number, Set<PlainNodeId>>, knownGlobalTail: number): Promise<void> {
  const first = under[0];
  const last = under[under.length - 1];
  const wanted = new Set(under);
  // Servers that hold a wanted record answered the digests just now: ask them first.
  const holding = new Set(under.flatMap((o) => [...(holders.get(o) ?? [])]));
  const order = [...ctx.params.nodeset.filter((n) => holding.has(n)), ...ctx.params.nodeset.filter((n) => !holding.has(n))];
  const { records } = await collectRecords(ctx, first, last, order, knownGlobalTail, (r) => [...wanted].every((o) => r.has(o)));
  const plan = new Map<PlainNodeId, number[]>();
  for (const o of under) {
    if (!records.has(o)) continue;
    const have = holders.get(o)!;
    const targets = ctx.params.nodeset.filter((n) => !have.has(n) && ctx.servers.healthy(n));
    for (const n of targets.slice(0, ctx.params.replication - have.size)) {
      if (!plan.has(n)) plan.set(n, []);
      plan.get(n)!.push(o);
    }
  }
  await Promise.all(
    [...plan].map(async ([node, offsets]) => {
      for (const run of runs(offsets)) {
        try {
          await ctx.servers.client(node).store(
            {
              header: ctx.servers.header(ctx.id, knownGlobalTail),
              firstOffset: run[0],
              payloads: run.map((o) => records.get(o)!),
              repair: true,
            },
            { timeoutMs: ctx.timeouts.rpcMs, signal: ctx.signal },
          );
        } catch (e) {
          noteFailure(ctx, node, "repair store", e);
          return;
        }
      }
    }),
  );
  ctx.log.info({ loglet: ctx.id, offsets: under.length, targets: [...plan.keys()] }, "repaired under-replicated tail records");
}

/** Splits ascending offsets into runs of consecutive ones. */
function runs(offsets: number[]): number[][] {
  const out: number[][] = [];
  for (const o of offsets) {
    const run = out[out.length - 1];
    if (run && run[run.length - 1] === o - 1) run.push(o);
    else out.push([o]);
  }
  return out;
}
