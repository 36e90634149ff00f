/**
 * A process that runs only the log-server role. Used by multi-process tests and benchmarks:
 *
 *   node --import tsx src/cluster/log-server-main.ts --node-name n1 --data-dir /tmp/n1 --port 0 \
 *        --metadata rpc://127.0.0.1:5300
 *
 * The node joins by name like any node (`joinCluster`): a new name gets the next id, a known one
 * its id at the next generation. Every flag also reads from the environment (REPRISE_NODE_NAME,
 * REPRISE_DATA_DIR, REPRISE_PORT, REPRISE_METADATA, REPRISE_CLUSTER). Once serving, prints the ready
 * event (`{"event":"ready","node":"N1:1","nodePort":...}`, see ready-event.ts) on stdout;
 * SIGTERM/SIGINT shut down cleanly.
 */
import { parseArgs } from "node:util";
import { rootLogger, type Logger } from "../common/logger.ts";
import { LogServer } from "../log-server/log-server.ts";
import { EmbeddedMetadataStore } from "../metadata/embedded-store.ts";
import { InMemoryMetadataStore } from "../metadata/memory-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { BadRequestError, errorMessage } from "../types/errors.ts";
import { formatNodeId } from "../types/ids.ts";
import { freePort } from "./net.ts";
import { joinCluster } from "./node-identity.ts";
import { printReadyEvent } from "./ready-event.ts";
import { RemoteMetadataStore } from "../net/metadata-service.ts";

interface LogServerMainConfig {
  readonly nodeName: string;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly clusterName: string;
  /** `memory` (this process only), `embedded:<file>` (single node, durable) or `rpc://host:port` (a metadata service). */
  readonly metadata: string;
}

function parseLogServerArgs(argv: readonly string[], env: NodeJS.ProcessEnv): LogServerMainConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "node-name": { type: "string" },
      "data-dir": { type: "string" },
      port: { type: "string" },
      host: { type: "string" },
      cluster: { type: "string" },
      metadata: { type: "string" },
    },
    strict: true,
  });
  const nodeName = values["node-name"] ?? env.REPRISE_NODE_NAME;
  if (!nodeName) throw new BadRequestError("--node-name is required");
  const dataDir = values["data-dir"] ?? env.REPRISE_DATA_DIR;
  if (!dataDir) throw new BadRequestError("--data-dir is required");
  const port = Number(values.port ?? env.REPRISE_PORT ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BadRequestError("--port must be 0..65535");
  return {
    nodeName,
    dataDir,
    port,
    host: values.host ?? "127.0.0.1",
    clusterName: values.cluster ?? env.REPRISE_CLUSTER ?? "reprise",
    metadata: values.metadata ?? env.REPRISE_METADATA ?? "memory",
  };
}

function openMetadataStore(spec: string, log: Logger): MetadataStore {
  if (spec === "memory") return new InMemoryMetadataStore();
  if (spec.startsWith("embedded:")) return new EmbeddedMetadataStore(spec.slice("embedded:".length));
  if (spec.startsWith("rpc://")) return new RemoteMetadataStore(spec.slice("rpc://".length), log);
  throw new BadRequestError(`unsupported metadata backend '${spec}' (expected memory, embedded:<file> or rpc://host:port)`);
}

async function main(): Promise<void> {
  const config = parseLogServerArgs(process.argv.slice(2), process.env);
  const log = rootLogger.child({ role: "log-server-main", nodeName: config.nodeName });
  const metadata = openMetadataStore(config.metadata, log);
  // The address is published when joining, before the server starts; port 0 picks a free one now.
  const port = config.port === 0 ? await freePort(config.host) : config.port;
  const me = await joinCluster(metadata, { clusterName: config.clusterName, name: config.nodeName, address: `${config.host}:${port}`, roles: ["log-server"] });
  const server = await LogServer.start({ me, clusterName: config.clusterName, dataDir: config.dataDir, metadata, port, host: config.host, logger: log });
  printReadyEvent({ node: formatNodeId(me), nodePort: server.port, roles: ["log-server"] });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "log server stopping");
    server
      .close()
      .then(() => metadata.close())
      .then(
        () => process.exit(0),
        (e: unknown) => {
          log.error({ err: errorMessage(e) }, "log server did not stop cleanly");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    rootLogger.fatal({ err: e }, "log server failed to start");
    process.exit(1);
  });
}
