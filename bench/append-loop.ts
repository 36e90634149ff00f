import type { Loglet } from "../src/bifrost/loglet.ts";
import { percentile } from "./load.ts";

export interface AppendBenchResult {
  readonly name: string;
  readonly concurrency: number;
  readonly appends: number;
  readonly seconds: number;
  readonly appendsPerSec: number;
  readonly mibPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Closed loop: each of `concurrency` appenders issues its next append when the previous one is
 * durable, until `durationMs` or `maxAppends` (whichever first).
 */
export async function closedLoopAppends(
  name: string,
  loglet: Loglet,
  payload: Uint8Array,
  opts: { concurrency: number; durationMs: number; maxAppends: number },
): Promise<AppendBenchResult> {
  const latencies: number[] = [];
  let issued = 0;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const appender = async (): Promise<void> => {
    while (issued < opts.maxAppends && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      await loglet.append([payload]);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, appender));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    name: `${name} (c=${opts.concurrency})`,
    concurrency: opts.concurrency,
    appends: latencies.length,
    seconds,
    appendsPerSec: latencies.length / seconds,
    mibPerSec: (latencies.length * payload.length) / seconds / (1 << 20),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

export function formatAppendBench(r: AppendBenchResult): string {
  return `${r.name.padEnd(40)} ${r.appendsPerSec.toFixed(0).padStart(7)} appends/s ${r.mibPerSec.toFixed(1).padStart(6)} MiB/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   (${r.appends} in ${r.seconds.toFixed(1)} s)`;
}
