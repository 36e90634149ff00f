import http from "node:http";

/** A request still unanswered after this long counts as an error (the load stays bounded in time). */
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

export interface LoadResult {
  readonly name: string;
  readonly concurrency: number;
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly throughput: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The fewest successful requests any one caller completed: 0 means a caller starved. */
  readonly minPerCaller: number;
  /** Server CPU time (every process and thread of it) per successful request, when the benchmark measured it. */
  readonly serverCpuMsPerCall?: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Closed-loop load: `concurrency` callers each send the next request as soon as the previous one
 * answered, until `durationMs` or `maxRequests` is reached (whichever first). A request succeeds
 * when it is answered with `okStatus` (200 unless given, 202 for one-way sends).
 */
export async function runLoad(opts: {
  name: string;
  url: string;
  body: (i: number) => string;
  pathFor?: (i: number) => string;
  concurrency: number;
  durationMs: number;
  maxRequests: number;
  okStatus?: number;
  requestTimeoutMs?: number;
}): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const okStatus = opts.okStatus ?? 200;
  const timeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const latencies: number[] = [];
  const perCaller: number[] = [];
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
        res.on("end", () => resolve(res.statusCode === okStatus));
      });
      req.setTimeout(timeoutMs, () => req.destroy());
      req.on("error", () => resolve(false));
      req.end(payload);
    });
  const caller = async (c: number) => {
    perCaller[c] = 0;
    while (performance.now() < deadline && issued < opts.maxRequests) {
      const i = issued++;
      const t0 = performance.now();
      const ok = await one(i);
      if (ok) {
        latencies.push(performance.now() - t0);
        perCaller[c]++;
      } else errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, c) => caller(c)));
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    name: opts.name,
    concurrency: opts.concurrency,
    requests: latencies.length,
    errors,
    seconds,
    throughput: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p90Ms: percentile(latencies, 90),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length === 0 ? NaN : latencies[latencies.length - 1],
    minPerCaller: Math.min(...perCaller),
  };
}

export function formatLoad(r: LoadResult): string {
  return `${r.name.padEnd(34)} ${r.throughput.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(7)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   (${r.requests} ok, ${r.errors} errors, ${r.seconds.toFixed(1)} s)${r.serverCpuMsPerCall === undefined ? "" : `   server CPU ${r.serverCpuMsPerCall.toFixed(2)} ms/call`}`;
}
