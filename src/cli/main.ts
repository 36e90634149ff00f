import { Command, InvalidArgumentError } from "commander";
import { loadConfig } from "../cluster/config.ts";
import { Node } from "../cluster/node.ts";
import { rootLogger } from "../common/logger.ts";
import { RepriseError } from "../types/errors.ts";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};

const program = new Command()
  .name("reprise")
  .description("Durable-execution server that runs Restate SDK services unchanged");

program
  .command("server")
  .description("start a Reprise node (a complete single-node server on embedded defaults)")
  .option("--base-dir <dir>", "where logs, partition stores and metadata live (default ./reprise-data)")
  .option("--config-file <file>", "TOML configuration file")
  .option("--node-name <name>", "this node's name")
  .option("--bind-address <addr>", "address to listen on (default 0.0.0.0)")
  .option("--ingress-port <port>", "client API port (default 8080)", int("--ingress-port"))
  .option("--admin-port <port>", "admin API port (default 9070)", int("--admin-port"))
  .option("--node-port <port>", "node-to-node port, reserved for clusters (default 5122)", int("--node-port"))
  .option("--partitions <n>", "number of partitions (default 4)", int("--partitions"))
  .action(async (opts) => {
    const overrides: Record<string, unknown> = {};
    if (opts.baseDir) overrides.baseDir = opts.baseDir;
    if (opts.nodeName) overrides.nodeName = opts.nodeName;
    if (opts.bindAddress) overrides.bindAddress = opts.bindAddress;
    if (opts.ingressPort !== undefined) overrides.ingress = { port: opts.ingressPort };
    if (opts.adminPort !== undefined) overrides.admin = { port: opts.adminPort };
    if (opts.nodePort !== undefined) overrides.nodeToNode = { port: opts.nodePort };
    if (opts.partitions !== undefined) overrides.partitions = opts.partitions;
    const config = loadConfig({ file: opts.configFile ?? process.env.REPRISE_CONFIG_FILE, env: process.env, overrides });
    const node = await Node.start(config);
    // Tests and scripts read this line to learn the bound ports.
    process.stdout.write(`REPRISE_READY ingress=${node.ingressPort} admin=${node.adminPort}\n`);
    const shutdown = (signal: string) => {
      rootLogger.info({ signal }, "shutting down");
      node.stop().then(
        () => process.exit(0),
        (e) => {
          rootLogger.error({ err: e }, "error during shutdown");
          process.exit(1);
        },
      );
    };
    process.once("SIGINT", () => shutdown("SIGINT"));
    process.once("SIGTERM", () => shutdown("SIGTERM"));
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof RepriseError) {
    process.stderr.write(`reprise: ${e.message}\n`);
  } else {
    process.stderr.write(`reprise: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(1);
});
