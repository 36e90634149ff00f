/** Local loglet append benchmark: fsync'd 1 KiB appends from 1, 32 and 256 concurrent appenders. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalLoglet } from "../src/bifrost/local/local-loglet.ts";
import { closedLoopAppends, formatAppendBench, type AppendBenchResult } from "./append-loop.ts";

/** Closed loop per level: each appender issues its next append when the previous one is durable; stops at `durationMs` or `maxAppends`. */
export async function runLocalLogletBench(
  opts: { concurrencies?: readonly number[]; durationMs?: number; maxAppends?: number; recordBytes?: number } = {},
): Promise<AppendBenchResult[]> {
  const concurrencies = opts.concurrencies ?? [1, 32, 256];
  // Three levels of 2.5 s stay under the 10 s budget including open/close.
  const durationMs = opts.durationMs ?? 2_500;
  const maxAppends = opts.maxAppends ?? 300_000;
  const payload = Buffer.alloc(opts.recordBytes ?? 1024, 0x5a);
  const results: AppendBenchResult[] = [];
  for (const concurrency of concurrencies) {
    const dir = mkdtempSync(join(tmpdir(), "reprise-bench-loglet-"));
    const loglet = await LocalLoglet.open("bench", dir);
    try {
      results.push(await closedLoopAppends("local loglet 1 KiB", loglet, payload, { concurrency, durationMs, maxAppends }));
    } finally {
      await loglet.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await runLocalLogletBench()) console.log(formatAppendBench(r));
}
