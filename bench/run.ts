/**
 * `npm run bench`: every benchmark, each bounded in time and count. Pass names to run a subset:
 * `npm run bench -- engine engine-cluster`, `npm run bench -- loglet-local loglet-replicated`.
 */
import { runClusterEngineBench, runEngineBench } from "./engine.ts";
import { formatLoad } from "./load.ts";
import { formatAppendBench } from "./append-loop.ts";
import { runLocalLogletBench } from "./loglet-local.ts";
import { runReplicatedLogletBench } from "./loglet-replicated.ts";

const suites: Record<string, () => Promise<string[]>> = {
  engine: async () => (await runEngineBench()).map(formatLoad),
  "engine-cluster": async () => (await runClusterEngineBench()).map(formatLoad),
  "loglet-local": async () => (await runLocalLogletBench()).map(formatAppendBench),
  "loglet-replicated": async () => (await runReplicatedLogletBench()).map(formatAppendBench),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in suites)) {
    process.stderr.write(`unknown benchmark '${name}'; choose from: ${Object.keys(suites).join(", ")}\n`);
    process.exit(2);
  }
}
for (const name of wanted.length > 0 ? wanted : Object.keys(suites)) {
  console.log(`\n== ${name}`);
  for (const line of await suites[name]()) console.log(line);
}
