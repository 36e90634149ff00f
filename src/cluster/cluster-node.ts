import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { rootLogger, type Logger } from "../common/logger.ts";
import { LogServer } from "../log-server/log-server.ts";
import { documentCodec, METADATA_KEYS, NODES_CODEC, type Logs } from "../metadata/documents.ts";
import { EtcdMetadataStore } from "../metadata/etcd-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { readModifyWrite } from "../metadata/read-modify-write.ts";
import { BadRequestError, errorMessage, RepriseError } from "../types/errors.ts";
import { formatNodeId, type GenerationalNodeId, type PlainNodeId } from "../types/ids.ts";
import { defaultAdvertisedHost, isWildcard } from "./advertised-address.ts";
import { DEFAULT_CLUSTER_ROLES, parseAdvertisedAddress, parseMetadataAddress, parseRoles, type ClusterRole } from "./cluster-config.ts";
import { ClusterWorker } from "./cluster-worker.ts";
import { ClusterController } from "./controller.ts";
import { ControllerLease } from "./controller-lease.ts";
import { Heartbeats } from "./heartbeats.ts";
import { NodeSvc } from "../net/gen/cluster_pb.ts";
import { NodeDirectory } from "../net/node-directory.ts";
import { RpcServer } from "../net/server.ts";
import { PartitionRouter } from "../partition/routing.ts";
import type { ClusterSettings, NodeConfig } from "./config.ts";
import { storedDocuments } from "./ctl/cluster-documents.ts";
import { clusterStatusSource } from "./ctl/cluster-status.ts";
import { mountControlApi } from "./ctl/control-api.ts";
import type { ControlContext } from "./ctl/control-context.ts";
import { freePort } from "./net.ts";
import { joinCluster } from "./node-identity.ts";

const JOIN_POLL_MS = 200;
const JOIN_WARN_EVERY_MS = 5_000;

/**
 * A node of a cluster: joins through the shared metadata store (etcd) with its name and gets a
 * generational id, makes sure the cluster's logs default to the replicated loglet, then runs its
 * roles — a log server on the node port and/or a worker (see `ClusterWorker`).
 */
export class ClusterNode {
  private logServer: LogServer | null = null;
  private worker: ClusterWorker | null = null;
  private rpc: RpcServer | null = null;
  private directory: NodeDirectory | null = null;
  private heartbeats: Heartbeats | null = null;
  private lease: ControllerLease | null = null;
  private controller: ClusterController | null = null;
  /** Node ids by role, from the latest NodesConfiguration this node read. */
  private members: { all: PlainNodeId[]; workers: PlainNodeId[] } = { all: [], workers: [] };
  private unwatchMembers: (() => void) | null = null;
  private readonly startedAtMs = Date.now();

  private constructor(
    readonly me: GenerationalNodeId,
    readonly roles: readonly ClusterRole[],
    /** The node port: node-to-node RPCs (heartbeats, the log server's) and restatectl's API. */
    readonly nodePort: number,
    private readonly metadata: MetadataStore,
    private readonly log: Logger,
  ) {}

  /** The worker's client port, or null on a node without the worker role. */
  get ingressPort(): number | null {
    return this.worker?.node.ingressPort ?? null;
  }

  get adminPort(): number | null {
    return this.worker?.node.adminPort ?? null;
  }

  static async start(config: NodeConfig): Promise<ClusterNode> {
    const settings = config.cluster;
    const address = parseMetadataAddress(settings.metadata);
    if (address.kind !== "etcd") throw new BadRequestError("a cluster node needs a shared metadata store: --metadata etcd://host:port", "config_invalid");
    const roles = settings.roles.length > 0 ? parseRoles(settings.roles) : [...DEFAULT_CLUSTER_ROLES];
    const log = rootLogger.child({ node: config.nodeName, cluster: settings.name });
    const metadata = new EtcdMetadataStore({ endpoints: address.endpoints, logger: log });
    let node: ClusterNode | null = null;
    try {
      if (settings.join) await awaitExistingCluster(metadata, settings, log);
      // The address is published when joining, before anything listens; port 0 picks a free one now.
      const host = config.bindAddress;
      const nodePort = config.nodeToNode.port === 0 ? await freePort(host) : config.nodeToNode.port;
      const address = advertisedAddress(config, nodePort, log);
      const me = await joinCluster(metadata, { clusterName: settings.name, name: config.nodeName, address, roles });
      node = new ClusterNode(me, roles, nodePort, metadata, log.child({ nodeId: formatNodeId(me) }));
      await defaultToReplicatedLogs(metadata);
      await node.startRoles(config, address);
      node.log.info({ roles, nodePort, ingressPort: node.ingressPort, adminPort: node.adminPort }, "cluster node ready");
      return node;
    } catch (e) {
      if (node !== null) await node.stop();
      else await metadata.close();
      throw e;
    }
  }

  /**
   * Every node serves the node port (heartbeats, forwarded commands, its roles' RPCs), watches its
   * peers, and may become cluster controller; then its roles start.
   */
  private async startRoles(config: NodeConfig, advertised: string): Promise<void> {
    const baseDir = resolve(config.baseDir);
    this.rpc = new RpcServer({ port: this.nodePort, host: config.bindAddress, logger: this.log });
    this.directory = await NodeDirectory.open(this.metadata, this.log, { node: this.me.id, server: this.rpc, address: advertised });
    this.unwatchMembers = this.metadata.watch(METADATA_KEYS.nodesConfiguration, (e) => e.value && this.noteMembers(e.value.value));
    const nodes = await this.metadata.get(METADATA_KEYS.nodesConfiguration);
    if (nodes !== null) this.noteMembers(nodes.value);
    this.heartbeats = new Heartbeats({
      me: this.me,
      connections: this.directory.connections,
      peers: () => this.members.all,
      localReplicas: () => this.worker?.reports() ?? [],
      logger: this.log,
    });
    this.rpc.register(NodeSvc, this.heartbeats.service());
    const control: ControlContext = {
      me: this.me,
      clusterName: config.cluster.name,
      roles: this.roles,
      boundAddress: `${config.bindAddress}:${this.nodePort}`,
      advertisedAddress: advertised,
      startedAtMs: this.startedAtMs,
      metadata: this.metadata,
      documents: storedDocuments(this.metadata),
      worker: () => this.worker?.node.workerSource() ?? null,
      logReplication: config.cluster.replication,
      logger: this.log,
    };
    mountControlApi(this.rpc, control);
    if (this.roles.includes("log-server")) {
      this.logServer = await LogServer.start({
        me: this.me,
        clusterName: config.cluster.name,
        dataDir: join(baseDir, "log-server"),
        metadata: this.metadata,
        port: this.nodePort,
        host: config.bindAddress,
        logger: this.log,
        rpc: this.rpc,
      });
    }
    await this.rpc.listen();
    this.heartbeats.start();
    this.lease = new ControllerLease(this.metadata, this.me, this.log);
    this.controller = new ClusterController({
      me: this.me.id,
      metadata: this.metadata,
      lease: this.lease,
      heartbeats: this.heartbeats,
      router: new PartitionRouter(config.partitions),
      workers: () => this.members.workers,
      members: () => this.members.all,
      replicationFactor: config.cluster.partitionReplication,
      logger: this.log,
    });
    this.lease.start();
    this.controller.start();
    if (this.roles.includes("worker")) {
      this.worker = await ClusterWorker.start(config, this.me, this.metadata, this.log, {
        rpc: this.rpc,
        directory: this.directory,
        heartbeats: this.heartbeats,
        clusterStatus: clusterStatusSource(control),
        workers: () => this.members.workers,
      });
    }
  }

  private noteMembers(bytes: Uint8Array): void {
    const config = NODES_CODEC.decode(bytes);
    this.members = {
      all: config.nodes.map((n) => n.id),
      workers: config.nodes.filter((n) => n.roles.includes("worker")).map((n) => n.id),
    };
  }

  /**
   * Stops the roles (worker first, so its last appends still reach the log servers), then the
   * metadata client; each step runs even if an earlier one failed, and the first failure is thrown.
   */
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    const steps = [
      () => this.controller?.stop(),
      () => this.lease?.stop(),
      () => this.worker?.stop(),
      () => this.heartbeats?.stop(),
      () => this.logServer?.close(),
      () => this.rpc?.close(),
      () => {
        this.unwatchMembers?.();
        this.directory?.close();
      },
      () => this.metadata.close(),
    ];
    for (const stop of steps) {
      try {
        await stop();
      } catch (e) {
        errors.push(e);
        this.log.error({ err: errorMessage(e) }, "a role did not stop cleanly");
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** `--advertised-address`, else the bind address (loopback when it is a wildcard) and the node port. */
function advertisedAddress(config: NodeConfig, nodePort: number, log: Logger): string {
  if (config.cluster.advertisedAddress !== "") {
    const { host, port } = parseAdvertisedAddress(config.cluster.advertisedAddress);
    return `${host}:${port}`;
  }
  if (isWildcard(config.bindAddress)) log.warn("advertising 127.0.0.1 to peers: nodes on other hosts cannot reach this one; set --advertised-address");
  return `${defaultAdvertisedHost(config.bindAddress)}:${nodePort}`;
}

/**
 * `--join`: waits (bounded by `join_timeout_ms`) for another node to found the cluster, so nodes
 * may start together, but never founds one: a node pointed at the wrong, empty store fails.
 */
async function awaitExistingCluster(metadata: MetadataStore, settings: ClusterSettings, log: Logger): Promise<void> {
  const deadline = Date.now() + settings.joinTimeoutMs;
  let warnAt = Date.now() + JOIN_WARN_EVERY_MS;
  for (;;) {
    try {
      if ((await metadata.get(METADATA_KEYS.nodesConfiguration)) !== null) return;
    } catch (e) {
      if (!(e instanceof RepriseError && e.retryable) || Date.now() >= deadline) throw e;
      log.warn({ err: errorMessage(e) }, "metadata store not reachable yet");
    }
    if (Date.now() >= deadline) {
      throw new BadRequestError(
        `--join: no cluster '${settings.name}' in metadata store ${settings.metadata} after ${settings.joinTimeoutMs} ms; start its first node without --join`,
        "cluster_not_found",
      );
    }
    if (Date.now() >= warnAt) {
      warnAt = Date.now() + JOIN_WARN_EVERY_MS;
      log.warn({ cluster: settings.name }, "waiting for the cluster to be founded by another node");
    }
    await sleep(JOIN_POLL_MS);
  }
}

/** A cluster's new logs start replicated: the first node creates the `Logs` document with that default. */
async function defaultToReplicatedLogs(metadata: MetadataStore): Promise<void> {
  const initial: Logs = { defaultProvider: "replicated", logs: [] };
  await readModifyWrite(metadata, METADATA_KEYS.logs, documentCodec<Logs>(), (current) => (current === null ? initial : "unchanged"));
}
