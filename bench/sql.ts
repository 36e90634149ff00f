/**
 * SQL introspection at size: `npm run bench -- sql`. Fills each engine with SQL_BENCH_INVOCATIONS
 * (default 100,000) completed invocations through its ingress, then times the queries the CLI and a
 * UI send (one invocation's status and journal, the 50 most recent, count, group-by) and the p99 of
 * concurrent calls with and without a query loop running.
 *
 * restate-server 1.7.12 runs first, then a Reprise single node, on the same SDK service process,
 * inside a private network namespace (restate-server looks up its latest release online at start);
 * `--reprise-only` skips restate-server and the namespace.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OUTER_NAMESPACE_ENV, PID_FILE_ENV, pidFileLine, runInPrivateNetwork, setUpLoopback } from "../chaos/namespace.ts";
import { startReadyChild } from "../test/support/process.ts";
import { percentile, runLoad, type LoadResult } from "./load.ts";
import { registerBenchService, startSingleNode, type BenchTarget } from "./engine.ts";
import { startRestateServer } from "./restate-server.ts";

const REPO = resolve(import.meta.dirname, "..");
const INVOCATIONS = Number(process.env.SQL_BENCH_INVOCATIONS ?? 100_000);

interface Timing {
  readonly name: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly rows: number;
}

interface ServerFigures {
  readonly server: string;
  readonly fillSeconds: number;
  readonly timings: readonly Timing[];
  readonly callsAlone: LoadResult;
  readonly callsWithQueries: LoadResult;
  readonly queriesDuringCalls: number;
}

const ENGINES: readonly [string, (dir: string) => Promise<BenchTarget>][] = [
  ["restate-server 1.7.12", startRestateServer],
  ["reprise", startSingleNode],
];

export async function runSqlBench(flags: readonly string[]): Promise<string[]> {
  const unknown = flags.filter((f) => f !== "--reprise-only");
  if (unknown.length > 0) throw new Error(`unknown flags ${unknown.join(" ")}; the sql benchmark takes --reprise-only`);
  const out = join(tmpdir(), `reprise-sql-bench-${process.pid}.json`);
  try {
    if (flags.includes("--reprise-only")) await measureEngines(ENGINES.slice(1), out);
    else {
      const code = await runInPrivateNetwork(import.meta.filename, [out], `${out}.pids`, ["unshare", "ip"]);
      if (code !== 0) throw new Error(`the benchmark inside the network namespace exited with ${code}`);
    }
    return format(JSON.parse(readFileSync(out, "utf8")) as ServerFigures[]);
  } finally {
    rmSync(out, { force: true });
    rmSync(`${out}.pids`, { force: true });
  }
}

/** Runs each engine in turn on one SDK service process and writes their figures to `out`. */
async function measureEngines(engines: readonly [string, (dir: string) => Promise<BenchTarget>][], out: string): Promise<void> {
  const track = (pid: number) => process.env[PID_FILE_ENV] && appendFileSync(process.env[PID_FILE_ENV], pidFileLine(pid));
  const sdk = await startReadyChild<{ port: number }>(join(REPO, "bench/sdk-service.ts"), [], { readyTimeoutMs: 30_000 });
  track(sdk.pid);
  const figures: ServerFigures[] = [];
  try {
    for (const [name, start] of engines) {
      const dir = mkdtempSync(join(tmpdir(), "reprise-sql-bench-"));
      let target: BenchTarget | null = null;
      try {
        process.stderr.write(`${name}: filling with ${INVOCATIONS} invocations\n`);
        target = await start(dir);
        target.serverPids.forEach(track);
        await registerBenchService(target, `http://127.0.0.1:${sdk.ready.port}`);
        figures.push(await measure(name, target));
      } finally {
        await target?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await sdk.stop();
  }
  writeFileSync(out, JSON.stringify(figures));
}

async function measure(server: string, target: BenchTarget): Promise<ServerFigures> {
  const ingress = target.ingresses[0]!;
  const fillStart = performance.now();
  const fill = await runLoad({
    name: "fill",
    url: ingress,
    pathFor: () => `${ingress}/Greeter/greet`,
    body: (i) => JSON.stringify(`user-${i}`),
    concurrency: 64,
    durationMs: 60 * 60_000,
    maxRequests: INVOCATIONS,
  });
  const fillSeconds = (performance.now() - fillStart) / 1000;
  if (fill.errors > 0) throw new Error(`${server}: ${fill.errors} of ${INVOCATIONS} calls failed while filling`);
  const sql = (query: string) => sqlQuery(target.admin, query);
  const ids = ((await sql("SELECT id FROM sys_invocation_status LIMIT 200")).rows as { id: string }[]).map((r) => r.id);
  const pick = (i: number) => ids[(i * 7919) % ids.length]!;
  const queries: [string, (i: number) => string, number][] = [
    ["one invocation's status by id", (i) => `SELECT * FROM sys_invocation WHERE id = '${pick(i)}'`, 40],
    ["one invocation's journal by id", (i) => `SELECT * FROM sys_journal WHERE id = '${pick(i)}' ORDER BY index`, 40],
    ["the 50 most recent", () => "SELECT id, target, status, created_at, modified_at FROM sys_invocation ORDER BY created_at DESC LIMIT 50", 40],
    ["count(*)", () => "SELECT count(*) AS n FROM sys_invocation", 10],
    ["count per service and status", () => "SELECT target_service_name, status, count(*) AS n FROM sys_invocation GROUP BY target_service_name, status", 10],
  ];
  const timings: Timing[] = [];
  for (const [name, query, runs] of queries) {
    await sql(query(0));
    const took: number[] = [];
    let rows = 0;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      rows = (await sql(query(i + 1))).rows.length;
      took.push(performance.now() - started);
    }
    took.sort((a, b) => a - b);
    timings.push({ name, p50Ms: percentile(took, 50), p99Ms: percentile(took, 99), rows });
  }
  const calls = (name: string) =>
    runLoad({ name, url: ingress, pathFor: () => `${ingress}/Greeter/greet`, body: (i) => JSON.stringify(`probe-${i}`), concurrency: 8, durationMs: 10_000, maxRequests: 100_000 });
  const callsAlone = await calls("calls alone");
  let running = true;
  let queriesDuringCalls = 0;
  const loop = (async () => {
    while (running) {
      for (const [, query] of queries.slice(2)) {
        await sql(query(queriesDuringCalls));
        queriesDuringCalls++;
      }
    }
  })();
  const callsWithQueries = await calls("calls with a query loop");
  running = false;
  await loop;
  return { server, fillSeconds, timings, callsAlone, callsWithQueries, queriesDuringCalls };
}

async function sqlQuery(admin: string, query: string): Promise<{ rows: Record<string, unknown>[] }> {
  const res = await fetch(`${admin}/query`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify({ query }) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${query}: ${res.status} ${text}`);
  return JSON.parse(text) as { rows: Record<string, unknown>[] };
}

function format(figures: readonly ServerFigures[]): string[] {
  const lines = [`${INVOCATIONS} completed invocations (Greeter/greet: input, run, run result, output)`];
  for (const f of figures) {
    lines.push(`-- ${f.server} (filled in ${f.fillSeconds.toFixed(0)} s)`);
    for (const t of f.timings) lines.push(`${t.name.padEnd(32)} p50 ${t.p50Ms.toFixed(1).padStart(8)} ms   p99 ${t.p99Ms.toFixed(1).padStart(8)} ms   (${t.rows} rows)`);
    const a = f.callsAlone;
    const q = f.callsWithQueries;
    lines.push(`calls (c=8) alone                p50 ${a.p50Ms.toFixed(1).padStart(8)} ms   p99 ${a.p99Ms.toFixed(1).padStart(8)} ms   ${a.throughput.toFixed(0)}/s`);
    lines.push(
      `calls (c=8) with a query loop    p50 ${q.p50Ms.toFixed(1).padStart(8)} ms   p99 ${q.p99Ms.toFixed(1).padStart(8)} ms   ${q.throughput.toFixed(0)}/s` +
        `   (${f.queriesDuringCalls} queries; p99 +${(q.p99Ms - a.p99Ms).toFixed(1)} ms)`,
    );
  }
  return lines;
}

if (process.argv[1] === import.meta.filename && process.env[OUTER_NAMESPACE_ENV] !== undefined) {
  await setUpLoopback();
  await measureEngines(ENGINES, process.argv[2]!);
  // Keep-alive sockets of fetch would hold the process for seconds after the figures are written.
  process.exit(0);
}
