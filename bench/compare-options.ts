/** The flags of `npm run bench -- compare`. */
import { parseArgs } from "node:util";

export const ENGINES = ["restate", "reprise"] as const;
export type EngineName = (typeof ENGINES)[number];

/**
 * The workloads by name; each but `overload` runs once at low load and once at saturation.
 * `send-deferred` (one-way sends to run in an hour: the accepting path alone, no processing behind
 * it) comes last so the timers it leaves behind are there for no other workload.
 */
export const WORKLOAD_NAMES = ["1-step", "3-step", "9-step", "counter-100", "hot-key", "send", "overload", "send-deferred"] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface CompareOptions {
  readonly engines: readonly EngineName[];
  readonly workloads: readonly WorkloadName[];
  /** Length of each workload's load (the overload case has its own). */
  readonly durationMs: number;
  readonly warmupMs: number;
  /** Callers at low load, where latency is the figure. */
  readonly lowConcurrency: number;
  /** Callers at saturation, where throughput is the figure. */
  readonly highConcurrency: number;
  readonly overloadCallers: number;
  readonly overloadKeys: number;
  readonly overloadDurationMs: number;
  /** How long one-way sends may take to be handled after the last one was accepted. */
  readonly drainTimeoutMs: number;
  /** Where the JSON results go; the default is `.bench-results/compare-<timestamp>.json`. */
  readonly out: string | undefined;
}

export const USAGE = `npm run bench -- compare [--quick] [--engines ${ENGINES.join(",")}] [--workloads ${WORKLOAD_NAMES.join(",")}]
        [--duration-ms MS] [--warmup-ms MS] [--low N] [--high N]
        [--overload-callers N] [--overload-keys N] [--overload-duration-ms MS] [--drain-timeout-ms MS] [--out FILE]
Runs restate-server and then Reprise, inside a private network namespace (needs root, unshare and ip),
on the same SDK service and load. --quick: short loads (about 2 minutes in all, the full run about 6); flags win over the preset.`;

const FULL = { durationMs: 10_000, warmupMs: 3_000, overloadDurationMs: 15_000, drainTimeoutMs: 120_000 };
const QUICK = { durationMs: 3_000, warmupMs: 1_000, overloadDurationMs: 5_000, drainTimeoutMs: 60_000 };

/** Bad flags, or --help: the message is the usage. */
export class CompareUsageError extends Error {
  override readonly name = "CompareUsageError";
}

function parseList<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): readonly T[] {
  if (raw === undefined) return allowed;
  const names = raw.split(",").filter((n) => n !== "");
  const unknown = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) throw new CompareUsageError(`--${flag}: unknown or empty '${raw}'; choose from ${allowed.join(",")}\n${USAGE}`);
  // In the table's order, whatever order they were given in.
  return allowed.filter((a) => names.includes(a));
}

export function parseCompareOptions(argv: readonly string[]): CompareOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean" },
      engines: { type: "string" },
      workloads: { type: "string" },
      "duration-ms": { type: "string" },
      "warmup-ms": { type: "string" },
      low: { type: "string" },
      high: { type: "string" },
      "overload-callers": { type: "string" },
      "overload-keys": { type: "string" },
      "overload-duration-ms": { type: "string" },
      "drain-timeout-ms": { type: "string" },
      out: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) throw new CompareUsageError(USAGE);
  const preset = values.quick ? QUICK : FULL;
  const num = (flag: keyof typeof values, fallback: number, min: number): number => {
    const raw = values[flag];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new CompareUsageError(`--${flag} must be an integer >= ${min}, got '${String(raw)}'\n${USAGE}`);
    return n;
  };
  return {
    engines: parseList("engines", values.engines, ENGINES),
    workloads: parseList("workloads", values.workloads, WORKLOAD_NAMES),
    durationMs: num("duration-ms", preset.durationMs, 100),
    warmupMs: num("warmup-ms", preset.warmupMs, 0),
    lowConcurrency: num("low", 2, 1),
    highConcurrency: num("high", 64, 1),
    overloadCallers: num("overload-callers", 500, 1),
    overloadKeys: num("overload-keys", 1_000, 1),
    overloadDurationMs: num("overload-duration-ms", preset.overloadDurationMs, 100),
    drainTimeoutMs: num("drain-timeout-ms", preset.drainTimeoutMs, 1_000),
    out: values.out,
  };
}
