import { violations } from "./checker.ts";
import type { NemesisName } from "./nemesis.ts";
import type { FaultResult, RoundResult } from "./round.ts";

/** What makes the run fail: a checker violation, or a recovery that was late or never came. */
export function failures(rounds: readonly RoundResult[], recoveryBoundMs: number): string[] {
  const out: string[] = [];
  for (const r of rounds) {
    for (const v of violations(r.check)) out.push(`round ${r.index}: ${v}`);
    if (!r.replicas.agreed) out.push(`round ${r.index}: the nodes' replicas did not converge to the same state: ${JSON.stringify(r.replicas.digests)}`);
    for (const [i, f] of r.faults.entries()) {
      if (f.recoveryMs === null) out.push(`round ${r.index}: ${f.nemesis} (${f.description}): no call succeeded through every live ingress after the heal`);
      else if (f.recoveryMs > recoveryBoundMs) out.push(`round ${r.index}: ${f.nemesis} (${f.description}): recovery took ${f.recoveryMs} ms, over the ${recoveryBoundMs} ms bound`);
      for (const [partition, n] of leaderChangesOf(r, i)) {
        if (n > 1) out.push(`round ${r.index}: ${f.nemesis} (${f.description}): partition ${partition} changed leader ${n} times (at most once per fault)`);
      }
    }
  }
  return out;
}

/** Leader changes per partition from fault `i`'s injection until the next fault's (or the round's end). */
export function leaderChangesOf(r: RoundResult, i: number): Map<number, number> {
  const from = r.faults[i].injectedAt;
  const until = r.faults[i + 1]?.injectedAt ?? Infinity;
  const counts = new Map<number, number>();
  for (const e of r.leaderChangeEvents) if (e.at >= from && e.at < until) counts.set(e.partition, (counts.get(e.partition) ?? 0) + 1);
  return counts;
}

/** The faults of one round and its checker figures. */
export function formatRound(r: RoundResult, recoveryBoundMs: number): string {
  const faults = table(
    ["fault", "nemesis", "what", "held s", "dropped pkts", "acks during (by ingress)", "longest no-ack s", "leader changes", "recovery ms"],
    r.faults.map((f, i) => [
      String(i + 1),
      f.nemesis,
      f.description,
      seconds(f.healedAt - f.injectedAt),
      f.droppedPackets === undefined ? "-" : String(f.droppedPackets),
      `${f.acks.total} (${[...f.acks.byIngress].sort(([a], [b]) => a.localeCompare(b)).map(([node, n]) => `${node} ${n}`).join(", ") || "none"})`,
      seconds(f.acks.longestGapMs),
      [...leaderChangesOf(r, i)].map(([p, n]) => `p${p}:${n}`).join(" ") || "-",
      recovery(f, recoveryBoundMs),
    ]),
  );
  return `round ${r.index} (${seconds(r.durationMs)} s)\n${faults}\n${table(ROUND_HEADERS, [roundRow(r)])}`;
}

/** Every round, the totals, and each nemesis's figures over the whole run. */
export function formatSummary(rounds: readonly RoundResult[], recoveryBoundMs: number): string {
  const total = [
    "total",
    String(rounds.reduce((n, r) => n + r.faults.length, 0)),
    ...[
      (r: RoundResult) => r.check.attempted,
      (r: RoundResult) => r.check.acked,
      (r: RoundResult) => r.check.lost.length,
      (r: RoundResult) => r.check.duplicated.length,
      (r: RoundResult) => r.check.indeterminate,
      (r: RoundResult) => r.check.indeterminateApplied,
      (r: RoundResult) => r.check.rejected,
      (r: RoundResult) => r.check.unreadable.length,
      (r: RoundResult) => [...r.leaderChanges.values()].reduce((a, b) => a + b, 0),
    ].map((f) => String(rounds.reduce((n, r) => n + f(r), 0))),
    maxRecovery(rounds.flatMap((r) => r.faults)),
  ];
  const byNemesis = new Map<NemesisName, FaultResult[]>();
  for (const f of rounds.flatMap((r) => r.faults)) byNemesis.set(f.nemesis, [...(byNemesis.get(f.nemesis) ?? []), f]);
  const nemeses = table(
    ["nemesis", "runs", "recovered", `within ${recoveryBoundMs} ms`, "recovery ms min/median/max", "acks/s during fault", "longest no-ack s"],
    [...byNemesis].map(([name, fs]) => {
      const times = fs.map((f) => f.recoveryMs).filter((t): t is number => t !== null).sort((a, b) => a - b);
      const heldS = fs.reduce((s, f) => s + (f.healedAt - f.injectedAt) / 1000, 0);
      return [
        name,
        String(fs.length),
        String(times.length),
        String(times.filter((t) => t <= recoveryBoundMs).length),
        times.length === 0 ? "-" : `${times[0]}/${times[Math.floor((times.length - 1) / 2)]}/${times[times.length - 1]}`,
        heldS === 0 ? "-" : (fs.reduce((n, f) => n + f.acks.total, 0) / heldS).toFixed(1),
        seconds(Math.max(...fs.map((f) => f.acks.longestGapMs))),
      ];
    }),
  );
  return `${table(ROUND_HEADERS, [...rounds.map(roundRow), total])}\n\nper nemesis\n${nemeses}`;
}

const ROUND_HEADERS = ["round", "faults", "adds", "acked", "lost", "dup", "indet.", "indet. applied", "rejected", "unreadable", "leader changes", "max recovery ms"];

function roundRow(r: RoundResult): string[] {
  const c = r.check;
  const changes = [...r.leaderChanges].map(([p, n]) => `p${p}:${n}`).join(" ") || "-";
  return [
    String(r.index),
    String(r.faults.length),
    String(c.attempted),
    String(c.acked),
    String(c.lost.length),
    String(c.duplicated.length),
    String(c.indeterminate),
    String(c.indeterminateApplied),
    String(c.rejected),
    String(c.unreadable.length),
    changes,
    maxRecovery(r.faults),
  ];
}

function maxRecovery(faults: readonly FaultResult[]): string {
  if (faults.length === 0) return "-";
  if (faults.some((f) => f.recoveryMs === null)) return "never";
  return String(Math.max(...faults.map((f) => f.recoveryMs!)));
}

function recovery(f: FaultResult, boundMs: number): string {
  if (f.recoveryMs === null) return "never";
  return f.recoveryMs > boundMs ? `${f.recoveryMs} (over)` : String(f.recoveryMs);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
