/** Local loglet append benchmark: fsync'd 1 KiB appends from 1, 32 and 256 concurrent appenders. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalLoglet } from "../src/bifrost/local/local-loglet.ts";
import { percentile } from "./load.ts";

export interface LocalLogletBenchResult {
  readonly concurrency: number;
  readonly appends: number;
  readonly seconds: number;
  readonly appendsPerSec: number;
  readonly mibPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Closed loop per level: each appender issues its next append when the previous one is durable; stops at `durationMs` or `maxAppends`. */
export async function runLocalLogletBench(
  opts: { concurrencies?: readonly number[]; durationMs?: number; maxAppends?: number; recordBytes?: number } = {},
): Promise<LocalLogletBenchResult[]> {
  const concurrencies = opts.concurrencies ?? [1, 32, 256];
  // Three levels of 2.5 s stay under the 10 s budget including open/close.
  const durationMs = opts.durationMs ?? 2_500;
  const maxAppends = opts.maxAppends ?? 300_000;
  const payload = Buffer.alloc(opts.recordBytes ?? 1024, 0x5a);
  const results: LocalLogletBenchResult[] = [];
  for (const concurrency of concurrencies) {
    const dir = mkdtempSync(join(tmpdir(), "reprise-bench-loglet-"));
    const loglet = await LocalLoglet.open("bench", dir);
    try {
      const latencies: number[] = [];
      let issued = 0;
      const start = performance.now();
      const deadline = start + durationMs;
      const appender = async (): Promise<void> => {
        while (issued < maxAppends && performance.now() < deadline) {
          issued++;
          const t0 = performance.now();
          await loglet.append([payload]);
          latencies.push(performance.now() - t0);
        }
      };
      await Promise.all(Array.from({ length: concurrency }, appender));
      const seconds = (performance.now() - start) / 1000;
      latencies.sort((a, b) => a - b);
      results.push({
        concurrency,
        appends: latencies.length,
        seconds,
        appendsPerSec: latencies.length / seconds,
        mibPerSec: (latencies.length * payload.length) / seconds / (1 << 20),
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      });
    } finally {
      await loglet.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

export function formatLocalLogletBench(r: LocalLogletBenchResult): string {
  const name = `local loglet 1 KiB (c=${r.concurrency})`;
  return `${name.padEnd(34)} ${r.appendsPerSec.toFixed(0).padStart(7)} appends/s ${r.mibPerSec.toFixed(1).padStart(6)} MiB/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   (${r.appends} in ${r.seconds.toFixed(1)} s)`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await runLocalLogletBench()) console.log(formatLocalLogletBench(r));
}
