import { Command, InvalidArgumentError } from "commander";
import { parseAdvertisedAddress, parseMetadataAddress, parseRoles } from "../cluster/cluster-config.ts";
import { ClusterNode } from "../cluster/cluster-node.ts";
import { isClusterMode, loadConfig } from "../cluster/config.ts";
import { Node } from "../cluster/node.ts";
import { printReadyEvent, type ReadyEvent } from "../cluster/ready-event.ts";
import { rootLogger } from "../common/logger.ts";
import { formatNodeId } from "../types/ids.ts";
import { RepriseError } from "../types/errors.ts";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
  return n;
};

const positive = (name: string) => (v: string) => {
  const n = int(name)(v);
  if (n < 1) throw new InvalidArgumentError(`${name} must be at least 1`);
  return n;
};

/** Runs a config parser on a flag's value; commander reports the failure naming the flag. */
const checked =
  (parse: (v: string) => unknown) =>
  (v: string): string => {
    try {
      parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
    return v;
  };

const program = new Command()
  .name("reprise")
  .description("Durable-execution server that runs Restate SDK services unchanged");

program
  .command("server")
  .description("start a Reprise node (a complete single-node server on embedded defaults)")
  .option("--base-dir <dir>", "where logs, partition stores and metadata live (default ./reprise-data)")
  .option("--config-file <file>", "TOML configuration file")
  .option("--node-name <name>", "this node's name; each node of a cluster needs its own (default node-1)")
  .option("--bind-address <addr>", "address to listen on (default 0.0.0.0)")
  .option("--ingress-port <port>", "client API port (default 8080)", int("--ingress-port"))
  .option("--admin-port <port>", "admin API port (default 9070)", int("--admin-port"))
  .option("--node-port <port>", "node port: restatectl's API, and node-to-node traffic in a cluster (default 5122)", int("--node-port"))
  .option("--partitions <n>", "number of partitions (default 4)", int("--partitions"))
  .option("--worker-threads <n>", "threads a single node runs its partitions on: 1 the main thread, 0 one per core but one, the main thread on 2 cores or fewer (default 0)", int("--worker-threads"))
  .option("--metadata <address>", "metadata store: embedded (single node, default) or etcd://host:port[,host:port] (cluster)", checked(parseMetadataAddress))
  .option("--cluster-name <name>", "cluster to join; checked against the metadata store (default reprise)")
  .option("--roles <list>", "cluster roles, comma-separated: worker, log-server (default both)", checked((v) => parseRoles(v.split(","))))
  .option("--advertised-address <host:port>", "address peers reach the node port at (default <bind address>:<node port>)", checked(parseAdvertisedAddress))
  .option("--replication <n>", "copies of each log record in a cluster (default 2)", positive("--replication"))
  .option("--partition-replication <n>", "replicas of each partition in a cluster, leader included (default 3, at most the workers)", positive("--partition-replication"))
  .option("--join", "only join an existing cluster (waiting up to cluster.join_timeout_ms for it), never found one")
  .option("--snapshot-destination <url>", "snapshot repository: none, file:///dir or s3://bucket/prefix (default file://<base-dir>/snapshots on a single node, none in a cluster)")
  .option("--snapshot-interval-records <n>", "snapshot each partition every n applied records, 0 never by count (default 10000)", int("--snapshot-interval-records"))
  .option("--snapshot-interval-ms <ms>", "snapshot each changed partition this often, 0 never by time (default 3600000)", int("--snapshot-interval-ms"))
  .option("--log-trim-interval-ms <ms>", "trim each partition log to what is safe this often, 0 never (default 60000)", int("--log-trim-interval-ms"))
  .action(async (opts) => {
    const overrides: Record<string, unknown> = {};
    if (opts.baseDir) overrides.baseDir = opts.baseDir;
    if (opts.nodeName) overrides.nodeName = opts.nodeName;
    if (opts.bindAddress) overrides.bindAddress = opts.bindAddress;
    if (opts.ingressPort !== undefined) overrides.ingress = { port: opts.ingressPort };
    if (opts.adminPort !== undefined) overrides.admin = { port: opts.adminPort };
    if (opts.nodePort !== undefined) overrides.nodeToNode = { port: opts.nodePort };
    if (opts.partitions !== undefined) overrides.partitions = opts.partitions;
    if (opts.workerThreads !== undefined) overrides.worker = { threads: opts.workerThreads };
    const cluster: Record<string, unknown> = {};
    if (opts.metadata !== undefined) cluster.metadata = opts.metadata;
    if (opts.clusterName !== undefined) cluster.name = opts.clusterName;
    if (opts.roles !== undefined) cluster.roles = opts.roles;
    if (opts.advertisedAddress !== undefined) cluster.advertisedAddress = opts.advertisedAddress;
    if (opts.replication !== undefined) cluster.replication = opts.replication;
    if (opts.partitionReplication !== undefined) cluster.partitionReplication = opts.partitionReplication;
    if (opts.join) cluster.join = true;
    if (Object.keys(cluster).length > 0) overrides.cluster = cluster;
    const snapshots: Record<string, unknown> = {};
    if (opts.snapshotDestination !== undefined) snapshots.destination = opts.snapshotDestination;
    if (opts.snapshotIntervalRecords !== undefined) snapshots.intervalNumRecords = opts.snapshotIntervalRecords;
    if (opts.snapshotIntervalMs !== undefined) snapshots.intervalMs = opts.snapshotIntervalMs;
    if (Object.keys(snapshots).length > 0) overrides.snapshots = snapshots;
    if (opts.logTrimIntervalMs !== undefined) overrides.log = { trimIntervalMs: opts.logTrimIntervalMs };
    const config = loadConfig({ file: opts.configFile ?? process.env.REPRISE_CONFIG_FILE, env: process.env, overrides });
    const node = isClusterMode(config) ? await ClusterNode.start(config) : await Node.start(config);
    printReadyEvent(readyFields(node));
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

const partitions = program.command("partitions").description("operate on partitions through a node's admin API");

partitions
  .command("verify <id>")
  .description("rebuild the partition from its newest snapshot and log (or the whole log) into a scratch store and compare every table with the node's replica; prints 'identical' or the first difference")
  .option("--admin-url <url>", "the node's admin API (default $REPRISE_ADMIN_URL or http://127.0.0.1:9070)")
  .action(async (id: string, opts: { adminUrl?: string }) => {
    const partition = int("<id>")(id);
    const admin = opts.adminUrl ?? process.env.REPRISE_ADMIN_URL ?? "http://127.0.0.1:9070";
    const res = await fetch(new URL(`/partitions/${partition}/verify`, admin), { method: "POST" });
    const body = (await res.json()) as { identical?: boolean; summary?: string; applied_lsn?: number; from_snapshot_lsn?: number; message?: string };
    if (!res.ok) throw new RepriseError("verify_failed", `verifying partition ${partition} failed (${res.status}): ${body.message ?? JSON.stringify(body)}`, false);
    const rebuilt = body.from_snapshot_lsn ? `the snapshot at LSN ${body.from_snapshot_lsn} and the log after it` : "the log from LSN 1";
    process.stdout.write(
      body.identical
        ? `identical (partition ${partition} at LSN ${body.applied_lsn}, rebuilt from ${rebuilt})\n`
        : `partition ${partition} differs at LSN ${body.applied_lsn} (rebuilt from ${rebuilt}): ${body.summary}\n`,
    );
    // A difference is the answer, not a failure of the command; scripts see it in the exit code.
    if (!body.identical) process.exitCode = 2;
  });

const snapshots = program.command("snapshots").description("partition snapshots in the snapshot repository, through a node's admin API");

snapshots
  .command("create [partition]")
  .description("snapshot a partition now (every partition led on the node when none is given) and print where each snapshot went")
  .option("--admin-url <url>", "the node's admin API (default $REPRISE_ADMIN_URL or http://127.0.0.1:9070)")
  .action(async (id: string | undefined, opts: { adminUrl?: string }) => {
    const partition = id === undefined ? null : int("[partition]")(id);
    const admin = opts.adminUrl ?? process.env.REPRISE_ADMIN_URL ?? "http://127.0.0.1:9070";
    const res = await fetch(new URL("/snapshots", admin), { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ partition }) });
    const body = (await res.json()) as { repository?: string; snapshots?: { partition_id: number; snapshot_id: string; applied_lsn: number; size_bytes: number }[]; message?: string };
    if (!res.ok) throw new RepriseError("snapshot_failed", `creating snapshots failed (${res.status}): ${body.message ?? JSON.stringify(body)}`, false);
    for (const s of body.snapshots ?? []) {
      process.stdout.write(`partition ${s.partition_id}: snapshot ${s.snapshot_id} at LSN ${s.applied_lsn} (${s.size_bytes} bytes) in ${body.repository}\n`);
    }
  });

/** The client ports (if the node serves clients), plus the node identity and node port on a cluster node. */
function readyFields(node: Node | ClusterNode): Omit<ReadyEvent, "event"> {
  if (node instanceof Node) return { ingress: node.ingressPort, admin: node.adminPort, nodePort: node.nodePort };
  const ports = node.ingressPort === null || node.adminPort === null ? {} : { ingress: node.ingressPort, admin: node.adminPort };
  return { ...ports, node: formatNodeId(node.me), nodePort: node.nodePort, roles: node.roles };
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof RepriseError) {
    process.stderr.write(`reprise: ${e.message}\n`);
  } else {
    process.stderr.write(`reprise: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(1);
});
