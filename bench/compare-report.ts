/** The side-by-side benchmark's results: the JSON written to disk and the tables printed from it. */
import type { CompareOptions, EngineName } from "./compare-options.ts";
import type { WorkloadResult } from "./compare-workloads.ts";

export interface EngineRun {
  readonly engine: EngineName;
  /** What ran: restate-server's package version, Reprise's commit. */
  readonly version: string;
  readonly results: readonly WorkloadResult[];
  /** Set when the engine failed part-way; `results` holds what finished before. */
  readonly error?: string;
}

export interface CompareReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: { readonly cpus: number; readonly loadAverage: readonly number[] };
  readonly options: CompareOptions;
  readonly runs: readonly EngineRun[];
}

const DASH = "-";

function ms(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return DASH;
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

function count(v: number | undefined, digits = 0): string {
  return v === undefined || !Number.isFinite(v) ? DASH : v.toFixed(digits);
}

/** `a / b` as `1.23x`; a dash when either side is missing. */
function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return DASH;
  return `${(a / b).toFixed(2)}x`;
}

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
}

/**
 * Three tables, each with Restate, Reprise and Reprise's ratio to Restate (for throughput higher
 * is better; for latency, CPU and memory lower is): throughput and latency; what a request costs
 * the server; and how one-way sends drained after they were accepted.
 */
export function formatComparison(report: CompareReport): string[] {
  const runOf = (engine: EngineName) => report.runs.find((r) => r.engine === engine);
  const restate = runOf("restate");
  const reprise = runOf("reprise");
  const ids = [...new Set(report.runs.flatMap((r) => r.results.map((w) => w.workload)))];
  const rows = ids.map((id) => {
    const rs = restate?.results.find((w) => w.workload === id);
    const rp = reprise?.results.find((w) => w.workload === id);
    return { id, name: (rs ?? rp)!.name, rs, rp };
  });
  const out: string[] = [];
  out.push(
    `restate = ${restate?.version ?? "not run"}; reprise = ${reprise?.version ?? "not run"}; ${report.host.cpus} cpus, load average at start ${report.host.loadAverage.map((l) => l.toFixed(2)).join(" ")}`,
    `per workload ${report.options.durationMs} ms (overload ${report.options.overloadDurationMs} ms); x = reprise / restate`,
    "",
    ...renderTable(
      ["workload", "req/s restate", "reprise", "x", "p50 ms restate", "reprise", "p90 restate", "reprise", "p99 restate", "reprise", "x", "max restate", "reprise", "errors"],
      rows.map(({ name, rs, rp }) => [
        name,
        count(rs?.throughput),
        count(rp?.throughput),
        ratio(rp?.throughput, rs?.throughput),
        ms(rs?.p50Ms),
        ms(rp?.p50Ms),
        ms(rs?.p90Ms),
        ms(rp?.p90Ms),
        ms(rs?.p99Ms),
        ms(rp?.p99Ms),
        ratio(rp?.p99Ms, rs?.p99Ms),
        ms(rs?.maxMs),
        ms(rp?.maxMs),
        `${count(rs?.errors)}/${count(rp?.errors)}`,
      ]),
    ),
    "",
    ...renderTable(
      ["workload", "server cpu ms/op restate", "reprise", "x", "server RSS MiB restate", "reprise", "sdk cpu ms/op restate", "reprise", "min ok/caller restate", "reprise"],
      rows.map(({ name, rs, rp }) => [
        name,
        ms(rs?.serverCpuMsPerOp),
        ms(rp?.serverCpuMsPerOp),
        ratio(rp?.serverCpuMsPerOp, rs?.serverCpuMsPerOp),
        count(rs?.serverRssMiB),
        count(rp?.serverRssMiB),
        ms(rs?.sdkCpuMsPerOp),
        ms(rp?.sdkCpuMsPerOp),
        count(rs?.minPerCaller),
        count(rp?.minPerCaller),
      ]),
    ),
  );
  // Sends run now (with their drain) and deferred ones (accepting alone), side by side.
  const sends = rows.filter((r) => r.id.startsWith("send"));
  if (sends.length > 0) {
    out.push(
      "",
      ...renderTable(
        ["one-way sends", "accepted restate", "reprise", "accept/s restate", "reprise", "x", "handled/s end-to-end restate", "reprise", "x", "s after last accept restate", "reprise"],
        sends.map(({ name, rs, rp }) => [
          name.replace(" (accept)", ""),
          count(rs?.requests),
          count(rp?.requests),
          count(rs?.throughput),
          count(rp?.throughput),
          ratio(rp?.throughput, rs?.throughput),
          `${count(rs?.drain?.rate)}${rs?.drain?.complete === false ? " (timed out)" : ""}`,
          `${count(rp?.drain?.rate)}${rp?.drain?.complete === false ? " (timed out)" : ""}`,
          ratio(rp?.drain?.rate, rs?.drain?.rate),
          count(rs?.drain?.afterAcceptSeconds, 2),
          count(rp?.drain?.afterAcceptSeconds, 2),
        ]),
      ),
    );
  }
  for (const run of report.runs) if (run.error !== undefined) out.push("", `${run.engine} FAILED: ${run.error}`);
  return out;
}
