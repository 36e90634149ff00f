/**
 * `npm run bench`: every benchmark but `compare`, each bounded in time and count. Pass names to
 * run a subset: `npm run bench -- engine engine-cluster`, `npm run bench -- loglet-local loglet-replicated`.
 * Flags after the names go to the benchmarks named: `npm run bench -- compare --quick`.
 * `compare` and `sql` (restate-server beside Reprise) run only when named: they need root for
 * their network namespace and take minutes (`npm run bench -- sql --reprise-only` skips restate-server).
 */
import { runCompare } from "./compare.ts";
import { formatClusterShare, runClusterVsSingle, runEngineBench, type ClusterReplication } from "./engine.ts";
import { formatLoad } from "./load.ts";
import { formatAppendBench } from "./append-loop.ts";
import { runLocalLogletBench } from "./loglet-local.ts";
import { runReplicatedLogletBench } from "./loglet-replicated.ts";
import { formatSnapshotBench, runSnapshotBench } from "./snapshot.ts";
import { runSqlBench } from "./sql.ts";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A benchmark that takes no flags refuses any (a misspelt preset would otherwise be ignored). */
const noFlags =
  (run: () => Promise<string[]>) =>
  (flags: readonly string[]): Promise<string[]> => {
    if (flags.length > 0) throw new Error(`this benchmark takes no flags, got ${flags.join(" ")}`);
    return run();
  };

/**
 * `--concurrency N` (callers) and, for a cluster, `--log-replication N --partition-replication N`
 * and `--rounds N`; the benchmark's defaults for those not given.
 */
function engineFlags(flags: readonly string[], cluster: boolean): { concurrency?: number; replication?: Partial<ClusterReplication>; rounds?: number } {
  const text = { type: "string" } as const;
  const options: ParseArgsConfig["options"] = cluster ? { concurrency: text, "log-replication": text, "partition-replication": text, rounds: text } : { concurrency: text };
  const { values } = parseArgs({ args: [...flags], options, strict: true });
  const count = (name: string, raw: unknown, max: number): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer 1..${max}, got ${String(raw)}`);
    return n;
  };
  const v = values as Record<string, string | undefined>;
  return {
    concurrency: count("concurrency", v.concurrency, 4096),
    replication: { log: count("log-replication", v["log-replication"], 3), partition: count("partition-replication", v["partition-replication"], 3) },
    rounds: count("rounds", v.rounds, 10),
  };
}

const suites: Record<string, (flags: readonly string[]) => Promise<string[]>> = {
  engine: async (flags) => (await runEngineBench(engineFlags(flags, false))).map(formatLoad),
  "engine-cluster": async (flags) => {
    const { loads, shares } = await runClusterVsSingle(engineFlags(flags, true));
    return [...loads.map(formatLoad), ...shares.map(formatClusterShare)];
  },
  "loglet-local": noFlags(async () => (await runLocalLogletBench()).map(formatAppendBench)),
  "loglet-replicated": noFlags(async () => (await runReplicatedLogletBench()).map(formatAppendBench)),
  snapshot: noFlags(async () => (await runSnapshotBench()).map(formatSnapshotBench)),
  compare: runCompare,
  sql: runSqlBench,
};
const ONLY_WHEN_NAMED = new Set(["compare", "sql"]);

const args = process.argv.slice(2);
const firstFlag = args.findIndex((a) => a.startsWith("-"));
const wanted = firstFlag === -1 ? args : args.slice(0, firstFlag);
const flags = firstFlag === -1 ? [] : args.slice(firstFlag);
for (const name of wanted) {
  if (!(name in suites)) {
    process.stderr.write(`unknown benchmark '${name}'; choose from: ${Object.keys(suites).join(", ")}\n`);
    process.exit(2);
  }
}
for (const name of wanted.length > 0 ? wanted : Object.keys(suites).filter((n) => !ONLY_WHEN_NAMED.has(n))) {
  console.log(`\n== ${name}`);
  for (const line of await suites[name](flags)) console.log(line);
}
