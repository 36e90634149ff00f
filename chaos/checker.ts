import type { OpRecord } from "./workload.ts";

export interface CheckResult {
  readonly attempted: number;
  readonly acked: number;
  /** Acknowledged, but not in its object's final list. */
  readonly lost: readonly string[];
  /** In its object's final list more than once: the add ran twice despite its idempotency key. */
  readonly duplicated: readonly string[];
  /** Never acknowledged (deadline passed) or rejected: either outcome is allowed for them (unreadable objects included). */
  readonly indeterminate: number;
  /** Of those, how many the final lists hold (they took effect without an answer). */
  readonly indeterminateApplied: number;
  readonly rejected: number;
  /** In a final list but never sent by the workload. */
  readonly unexpected: readonly string[];
  /** Objects whose final list could not be read: nothing about their adds is known. */
  readonly unreadable: readonly string[];
}

/** Compares what clients were told with the objects' final lists. `finalLists` holds null for an object that could not be read. */
export function check(ops: readonly OpRecord[], finalLists: ReadonlyMap<string, readonly string[] | null>): CheckResult {
  const counts = new Map<string, number>();
  const unreadable: string[] = [];
  for (const [key, list] of finalLists) {
    if (list === null) {
      unreadable.push(key);
      continue;
    }
    for (const element of list) counts.set(element, (counts.get(element) ?? 0) + 1);
  }
  const sent = new Set(ops.map((op) => op.element));
  const readable = new Set([...finalLists].filter(([, list]) => list !== null).map(([key]) => key));
  const lost: string[] = [];
  let indeterminate = 0;
  let indeterminateApplied = 0;
  for (const op of ops) {
    if (op.outcome !== "acked") indeterminate++;
    if (!readable.has(op.key)) continue;
    const present = counts.get(op.element) ?? 0;
    if (op.outcome === "acked" && present === 0) lost.push(op.element);
    if (op.outcome !== "acked" && present > 0) indeterminateApplied++;
  }
  return {
    attempted: ops.length,
    acked: ops.filter((op) => op.outcome === "acked").length,
    lost,
    duplicated: [...counts].filter(([, n]) => n > 1).map(([element]) => element),
    indeterminate,
    indeterminateApplied,
    rejected: ops.filter((op) => op.outcome === "rejected").length,
    unexpected: [...counts.keys()].filter((element) => !sent.has(element)),
    unreadable,
  };
}

/** Whether the result shows a violation: a loss, a duplicate, an element from nowhere, or an object that could not be checked. */
export function violations(result: CheckResult): string[] {
  const out: string[] = [];
  if (result.lost.length > 0) out.push(`${result.lost.length} acknowledged add(s) lost, e.g. ${result.lost.slice(0, 3).join(", ")}`);
  if (result.duplicated.length > 0) out.push(`${result.duplicated.length} element(s) applied more than once, e.g. ${result.duplicated.slice(0, 3).join(", ")}`);
  if (result.unexpected.length > 0) out.push(`${result.unexpected.length} element(s) nobody sent, e.g. ${result.unexpected.slice(0, 3).join(", ")}`);
  if (result.unreadable.length > 0) out.push(`${result.unreadable.length} object(s) could not be read back: ${result.unreadable.join(", ")}`);
  return out;
}

/** What the clients got acknowledged while one fault held. */
export interface AcksWhileHeld {
  readonly total: number;
  /** Per node whose ingress answered: the majority side's keep growing, a cut-off node's can only count adds that were done as it was cut. */
  readonly byIngress: ReadonlyMap<string, number>;
  /** The longest stretch of the fault with no add acknowledged anywhere (from the injection, between acks, to the heal): how long the cluster stalled. */
  readonly longestGapMs: number;
}

export function acksWhileHeld(ops: readonly OpRecord[], injectedAt: number, healedAt: number): AcksWhileHeld {
  const acked = ops.filter((op) => op.outcome === "acked" && op.endedAt >= injectedAt && op.endedAt <= healedAt).sort((a, b) => a.endedAt - b.endedAt);
  const byIngress = new Map<string, number>();
  let longestGapMs = 0;
  let previous = injectedAt;
  for (const op of acked) {
    if (op.ackedVia !== undefined) byIngress.set(op.ackedVia, (byIngress.get(op.ackedVia) ?? 0) + 1);
    longestGapMs = Math.max(longestGapMs, op.endedAt - previous);
    previous = op.endedAt;
  }
  return { total: acked.length, byIngress, longestGapMs: Math.max(longestGapMs, healedAt - previous) };
}
