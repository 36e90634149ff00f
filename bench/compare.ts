/**
 * `npm run bench -- compare`: restate-server and Reprise side by side, one after the other, on the
 * same SDK service process and the same load, inside a private network namespace (restate-server
 * looks up its latest release online at start, so nothing it starts may reach the machine's
 * network). Outside, `runCompare` re-executes this file in the namespace (chaos/namespace.ts) and
 * prints the tables from the JSON the inside wrote; inside, it brings up loopback, starts the SDK
 * service, then each engine in turn with a fresh data directory, and runs every workload on it.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { execFileSync } from "node:child_process";
import { OUTER_NAMESPACE_ENV, PID_FILE_ENV, pidFileLine, runInPrivateNetwork, setUpLoopback } from "../chaos/namespace.ts";
import { startReadyChild } from "../test/support/process.ts";
import { parseCompareOptions, type CompareOptions, type EngineName } from "./compare-options.ts";
import { formatComparison, type CompareReport, type EngineRun } from "./compare-report.ts";
import { measureWorkload, selectWorkloads, type WorkloadResult } from "./compare-workloads.ts";
import { registerBenchService, startSingleNode, type BenchTarget } from "./engine.ts";
import { runLoad } from "./load.ts";
import { startRestateServer } from "./restate-server.ts";

const REPO = resolve(import.meta.dirname, "..");
const RESULTS_DIR = join(REPO, ".bench-results");
const READY_TIMEOUT_MS = 30_000;
/** All the namespace needs: the benchmark changes no firewall and starts no etcd. */
const NAMESPACE_TOOLS = ["unshare", "ip"];

const ENGINE_STARTERS: Record<EngineName, (dir: string) => Promise<BenchTarget>> = {
  restate: startRestateServer,
  reprise: startSingleNode,
};

function engineVersion(engine: EngineName): string {
  if (engine === "restate") {
    const pkg = createRequire(import.meta.url)("@restatedev/restate-server/package.json") as { version: string };
    return `restate-server ${pkg.version}`;
  }
  const git = (...args: string[]): string | null => {
    try {
      return execFileSync("git", args, { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return null;
    }
  };
  const commit = git("rev-parse", "--short", "HEAD");
  if (commit === null) return "reprise (not a git checkout)";
  const dirty = (git("status", "--porcelain", "--untracked-files=no", "src") ?? "") !== "";
  return `reprise ${commit}${dirty ? " + uncommitted changes in src/" : ""}`;
}

const log = (line: string): void => void process.stderr.write(`compare: ${line}\n`);

/** Lists `pid` in the pid file the outside reads, so it is SIGKILLed should this process die first. */
function trackForCleanup(pid: number): void {
  const pidFile = process.env[PID_FILE_ENV];
  if (pidFile !== undefined) appendFileSync(pidFile, pidFileLine(pid));
}

async function runEngine(engine: EngineName, opts: CompareOptions, sdk: { pid: number; url: string; statsUrl: string }): Promise<EngineRun> {
  const version = engineVersion(engine);
  const dir = mkdtempSync(join(tmpdir(), `bench-compare-${engine}-`));
  const results: WorkloadResult[] = [];
  let target: BenchTarget | null = null;
  try {
    log(`${version}: starting`);
    target = await ENGINE_STARTERS[engine](dir);
    target.serverPids.forEach(trackForCleanup);
    await registerBenchService(target, sdk.url);
    const ingress = target.ingresses[0];
    // Warm-up: connections, JIT, caches; not measured.
    await runLoad({ name: "warmup", url: ingress, pathFor: () => "/Greeter/greet", body: (i) => JSON.stringify(`w${i}`), concurrency: opts.highConcurrency, durationMs: opts.warmupMs, maxRequests: 100_000 });
    for (const w of selectWorkloads(opts)) {
      const r = await measureWorkload(target, sdk, w, `${engine}-${w.id}`, opts.drainTimeoutMs);
      results.push(r);
      const drain = r.drain === undefined ? "" : `; handled ${r.drain.handled} end to end at ${r.drain.rate.toFixed(0)}/s, ${r.drain.afterAcceptSeconds.toFixed(2)} s after the last accept${r.drain.complete ? "" : " (TIMED OUT)"}`;
      log(
        `${engine} ${r.name}: ${r.throughput.toFixed(0)}/s p50 ${r.p50Ms.toFixed(1)} p99 ${r.p99Ms.toFixed(1)} max ${r.maxMs.toFixed(0)} ms, ${r.errors} errors, server ${r.serverCpuMsPerOp.toFixed(2)} ms cpu/op, ${r.serverRssMiB.toFixed(0)} MiB${drain}`,
      );
    }
    return { engine, version, results };
  } catch (e) {
    log(`${engine} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return { engine, version, results, error: e instanceof Error ? e.message : String(e) };
  } finally {
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Inside the namespace: runs every engine and writes the report to `out`. */
async function inside(argv: readonly string[]): Promise<void> {
  const opts = parseCompareOptions(argv);
  if (opts.out === undefined) throw new Error("the outside passes --out");
  await setUpLoopback();
  const startedAt = new Date().toISOString();
  const host = { cpus: cpus().length, loadAverage: loadavg() };
  const sdk = await startReadyChild<{ port: number; statsPort: number }>(join(REPO, "bench/sdk-service.ts"), [], { readyTimeoutMs: READY_TIMEOUT_MS });
  trackForCleanup(sdk.pid);
  const runs: EngineRun[] = [];
  try {
    const endpoint = { pid: sdk.pid, url: `http://127.0.0.1:${sdk.ready.port}`, statsUrl: `http://127.0.0.1:${sdk.ready.statsPort}` };
    for (const engine of opts.engines) runs.push(await runEngine(engine, opts, endpoint));
  } finally {
    await sdk.stop();
  }
  const report: CompareReport = { startedAt, finishedAt: new Date().toISOString(), host, options: opts, runs };
  writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
}

/**
 * Outside: runs the comparison in a private network namespace and returns the printed tables.
 * Throws on bad flags, missing prerequisites, or an inside that failed.
 */
export async function runCompare(argv: readonly string[]): Promise<string[]> {
  const opts = parseCompareOptions(argv);
  const out = resolve(opts.out ?? join(RESULTS_DIR, `compare-${new Date().toISOString().replace(/[:.]/g, "-")}.json`));
  mkdirSync(dirname(out), { recursive: true });
  const pidFile = join(tmpdir(), `reprise-bench-compare-${process.pid}.pids`);
  const args = opts.out === undefined ? [...argv, "--out", out] : argv;
  const code = await runInPrivateNetwork(import.meta.filename, args, pidFile, NAMESPACE_TOOLS);
  if (code !== 0) throw new Error(`the comparison inside the network namespace exited with ${code}`);
  const report = JSON.parse(readFileSync(out, "utf8")) as CompareReport;
  return [...formatComparison(report), "", `results: ${out}`];
}

if (process.argv[1] === import.meta.filename && process.env[OUTER_NAMESPACE_ENV] !== undefined) {
  await inside(process.argv.slice(2));
  // Keep-alive sockets of fetch would hold the process for seconds after the report is written.
  process.exit(0);
}
