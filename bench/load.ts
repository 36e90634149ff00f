import http from "node:http";

export interface LoadResult {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Closed-loop load: `concurrency` workers each send the next request as soon as the previous one
 * answered, until `durationMs` or `maxRequests` is reached (whichever first).
 */
export async function runLoad(opts: {
  name: string;
  url: string;
  body: (i: number) => string;
  pathFor?: (i: number) => string;
  concurrency: number;
  durationMs: number;
  maxRequests: number;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const start = performance.now();
  const deadline = start + opts.durationMs;
  const one = (i: number) =>
    new Promise<boolean>((resolve) => {
      const payload = Buffer.from(opts.body(i));
      const url = new URL(opts.pathFor ? opts.pathFor(i) : "", opts.url);
      const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": payload.length } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      });
      req.on("error", () => resolve(false));
      req.end(payload);
    });
  const worker = async () => {
    while (performance.now() < deadline && issued < opts.maxRequests) {
      const i = issued++;
      const t0 = performance.now();
      const ok = await one(i);
      if (ok) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    name: opts.name,
    requests: latencies.length,
    errors,
    seconds,
    throughput: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

export function formatLoad(r: LoadResult): string {
  return `${r.name.padEnd(34)} ${r.throughput.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   (${r.requests} ok, ${r.errors} errors, ${r.seconds.toFixed(1)} s)`;
}
