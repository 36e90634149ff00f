import { join, resolve } from "node:path";
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { Registry, Gauge, collectDefaultMetrics } from "prom-client";
import type { Logger } from "pino";
import { rootLogger } from "../common/logger.ts";
import { AdminServer, type AdminRoute } from "../admin/server.ts";
import { DeploymentRegistry } from "../admin/deployments.ts";
import { deploymentRoutes } from "../admin/deployment-routes.ts";
import { invocationRoutes } from "../admin/invocations.ts";
import { partitionRoutes } from "../admin/partitions.ts";
import { QueryEngine } from "../admin/query/engine.ts";
import { partitionStateRows } from "../admin/query/partition-state.ts";
import { queryRoutes } from "../admin/query/route.ts";
import { stateRoutes } from "../admin/state.ts";
import { uiRoutes } from "../admin/ui/routes.ts";
import { parseMetadataAddress } from "./cluster-config.ts";
import { clusterHealthRoutes } from "../admin/cluster-health.ts";
import { clusterStatusRoutes, type ClusterStatusSource } from "../admin/cluster-status.ts";
import { snapshotRoutes } from "../admin/snapshots.ts";
import { createLocalBifrost } from "../bifrost/local/create-local-bifrost.ts";
import type { Bifrost } from "../bifrost/bifrost.ts";
import { IngressThread } from "../ingress/thread/ingress-thread.ts";
import { invocationTracingFor, type InvocationTracing } from "../common/invocation-tracing.ts";
import { PartitionDispatcher, type RemoteLeaders } from "../partition/dispatcher.ts";
import { Invoker, type InvokerInvocationState } from "../invoker/invoker.ts";
import type { RequestIdentity } from "../protocol/request-identity.ts";
import { EmbeddedMetadataStore } from "../metadata/embedded-store.ts";
import type { MetadataStore } from "../metadata/metadata-store.ts";
import { PartitionProcessor } from "../partition/processor.ts";
import type { PartitionReplica } from "../partition/replica.ts";
import { PartitionRouter, partitionKeyForKey } from "../partition/routing.ts";
import { verifyPartition, type VerifyReport } from "../partition/verify.ts";
import { PartitionStore, partitionStorePath } from "../storage/partition-store.ts";
import { RpcServer } from "../net/server.ts";
import { LSN_INVALID, PlainNodeId, type InvocationId, type PartitionId } from "../types/ids.ts";
import { NotFoundError } from "../types/errors.ts";
import { defaultAdvertisedHost } from "./advertised-address.ts";
import type { NodeConfig } from "./config.ts";
import { NodeSnapshots } from "./node-snapshots.ts";
import { PartitionThreads, partitionThreadCount } from "./partition-thread/partition-threads.ts";
import { NoLocalReplicaError } from "./partition-reads.ts";
import { ClusterQueryRows } from "./query-rows.ts";
import { loadRequestIdentity } from "./request-identity-key.ts";
import { singleNodeDocuments } from "./ctl/cluster-documents.ts";
import { clusterStatusSource } from "./ctl/cluster-status.ts";
import { mountControlApi } from "./ctl/control-api.ts";
import type { ControlContext } from "./ctl/control-context.ts";
import type { WorkerSource } from "./ctl/sources.ts";

export interface RunningNode {
  readonly ingressPort: number;
  readonly adminPort: number;
  /** Where `restatectl` reaches the node (0 on a cluster worker: its cluster node serves that port). */
  readonly nodePort: number;
  stop(): Promise<void>;
}

/** What a node runs on: single-node `start` makes and owns these; a cluster worker passes its own. */
export interface NodeFoundation {
  readonly metadata: MetadataStore;
  readonly bifrost: Bifrost;
  /** Stamped on this node's leader announcements. */
  readonly nodeId: number;
  /** Whether `stop` closes `bifrost` and `metadata` (false when their owner closes them). */
  readonly owned: boolean;
  /**
   * In a cluster, the placement decides which partitions have a replica here and which of them
   * lead (`addReplica`, then the processor's `lead`/`resign`); commands for partitions led elsewhere
   * go to `remote`. Without it the node runs and leads every partition itself.
   */
  readonly cluster?: {
    readonly remote: RemoteLeaders;
    /** The rows a query reads from another node's replicas of `partitions` (that node's `loadQueryRows`). */
    readonly queryRows: (node: number, query: string, partitions: readonly PartitionId[], timeoutMs: number) => Promise<Uint8Array>;
  };
  /** What `GET /cluster/status` answers from: a cluster node's view; a single node sets its own once its node port is up. */
  readonly clusterStatus?: ClusterStatusSource;
  /**
   * A single node with partition threads: its partitions run there (`bifrost` is theirs), started
   * and stopped by the node. Without them a single node runs its partitions on its main thread.
   */
  readonly partitionThreads?: PartitionThreads;
}

/**
 * A complete single-node Reprise: embedded metadata, local log, all partitions led here, invoker,
 * ingress and admin. The node only wires subsystems together; calls reach partitions through the
 * dispatcher, so cluster roles can replace any part.
 */
export class Node implements RunningNode {
  readonly nodeId: number;
  readonly router: PartitionRouter;
  readonly registry: DeploymentRegistry;
  /** This node's replicas: on partition threads (a single node) or processors on this thread (a cluster node). */
  readonly processors = new Map<PartitionId, PartitionReplica>();
  /** The processors on this thread (a cluster node's), which the placement leads and resigns. */
  readonly localProcessors = new Map<PartitionId, PartitionProcessor>();
  readonly dispatcher: PartitionDispatcher;
  /** The stores of the processors on this thread, by partition, for what only their writer may do (make them durable). */
  private readonly storeOf = new Map<PartitionId, PartitionStore>();
  /** Snapshots, the restorer new processors get, and log trimming; set at boot. */
  private snapshots: NodeSnapshots | null = null;
  private readonly log: Logger;
  private readonly metrics = new Registry();
  /** The client HTTP API, served on a thread of its own. */
  private ingress: IngressThread | null = null;
  private admin: AdminServer | null = null;
  private queries: QueryEngine | undefined;
  /** Runs the invocations of processors on this thread; each partition thread has its own. */
  private readonly invoker: Invoker | null;
  private readonly tracing: InvocationTracing;
  /** Signs requests to deployments (Restate's request identity). */
  readonly identity: RequestIdentity;
  ingressPort = 0;
  adminPort = 0;
  nodePort = 0;
  /** A single node's node port; a cluster node owns the port of its worker. */
  private nodeRpc: RpcServer | null = null;
  private readonly metadata: MetadataStore;
  private readonly bifrost: Bifrost;
  private baseDir = "";
  private clusterStatus: ClusterStatusSource | null;

  private constructor(
    readonly config: NodeConfig,
    private readonly foundation: NodeFoundation,
  ) {
    this.metadata = foundation.metadata;
    this.bifrost = foundation.bifrost;
    this.nodeId = foundation.nodeId;
    this.clusterStatus = foundation.clusterStatus ?? null;
    this.log = rootLogger.child({ node: config.nodeName });
    this.router = new PartitionRouter(config.partitions);
    this.dispatcher = new PartitionDispatcher(this.nodeId, this.router, this.processors, { remote: foundation.cluster?.remote });
    this.identity = loadRequestIdentity(config.invoker.requestIdentityPrivateKeyPemFile, resolve(config.baseDir));
    this.log.info({ publicKey: this.identity.publicKey }, "signing requests to deployments; SDK endpoints verify them with identityKeys: [publicKey]");
    this.registry = new DeploymentRegistry(foundation.metadata, { identity: this.identity });
    this.tracing = invocationTracingFor(config.tracing, config.nodeName);
    this.invoker = foundation.partitionThreads !== undefined ? null : new Invoker({
      schema: () => this.registry.schema,
      retry: config.invoker.retry,
      inactivityTimeoutMs: config.invoker.inactivityTimeoutMs,
      abortTimeoutMs: config.invoker.abortTimeoutMs,
      retention: config.retention,
      eagerStateLimitBytes: config.invoker.eagerStateSizeLimitBytes,
      concurrentInvocationsLimit: config.invoker.concurrentInvocationsLimit,
      identity: this.identity,
      tracing: this.tracing,
      logger: this.log,
    });
  }

  /** The threads this single node runs its partitions on; undefined when they run on its main thread. */
  get partitionThreads(): PartitionThreads | undefined {
    return this.foundation.partitionThreads;
  }

  /** A complete single node: embedded metadata and a local log under the base directory. */
  static async start(config: NodeConfig, extraAdminRoutes: (node: Node) => AdminRoute[] = () => []): Promise<Node> {
    const baseDir = resolve(config.baseDir);
    mkdirSync(baseDir, { recursive: true });
    const metadata = new EmbeddedMetadataStore(join(baseDir, "metadata.sqlite"));
    const threadCount = partitionThreadCount(config.worker.threads, config.partitions, availableParallelism());
    let foundation: NodeFoundation;
    if (threadCount === 1) {
      foundation = { metadata, bifrost: await createLocalBifrost(join(baseDir, "bifrost"), metadata), nodeId: 1, owned: true };
    } else {
      const logger = rootLogger.child({ node: config.nodeName });
      const threads = new PartitionThreads({ config, baseDir, nodeId: 1, router: new PartitionRouter(config.partitions), metadata, logger }, threadCount);
      foundation = { metadata, bifrost: threads.bifrost, nodeId: 1, owned: true, partitionThreads: threads };
    }
    const startedAtMs = Date.now();
    const node = await Node.startOn(config, foundation, extraAdminRoutes);
    try {
      await node.serveRestatectl(metadata, startedAtMs);
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  /**
   * The node port with the restatectl API. A single node is node 1 of a cluster of one; it has no
   * generations (nothing fences it), so it names itself generation 1.
   */
  private async serveRestatectl(metadata: MetadataStore, startedAtMs: number): Promise<void> {
    const me = { id: PlainNodeId(this.nodeId), generation: 1 };
    const roles = ["admin", "http-ingress", "worker"] as const;
    const host = this.config.bindAddress;
    this.nodeRpc = new RpcServer({ host, port: this.config.nodeToNode.port, logger: this.log });
    const port = await this.nodeRpc.listen();
    const advertisedAddress = `${defaultAdvertisedHost(host)}:${port}`;
    const control: ControlContext = {
      me,
      clusterName: this.config.cluster.name,
      roles,
      boundAddress: `${host}:${port}`,
      advertisedAddress,
      startedAtMs,
      metadata,
      documents: singleNodeDocuments(metadata, {
        clusterName: this.config.cluster.name,
        node: { id: me.id, generation: me.generation, name: this.config.nodeName, address: advertisedAddress, roles },
        partitions: this.router.partitions,
        keyRange: (pid) => this.router.keyRange(pid),
        logOf: (pid) => this.router.logOf(pid),
      }),
      worker: () => this.workerSource(),
      logReplication: this.config.cluster.replication,
      logger: this.log,
    };
    mountControlApi(this.nodeRpc, control);
    this.clusterStatus = clusterStatusSource(control);
    this.nodePort = port;
    this.log.info({ nodePort: this.nodePort }, "restatectl API ready");
  }

  /** What the restatectl API reads of this node's partitions: the processors running now and their log. */
  workerSource(): WorkerSource {
    const snapshots = this.snapshots;
    return {
      processors: this.processors,
      logOf: (pid) => this.router.logOf(pid),
      log: this.bifrost,
      snapshots:
        snapshots === null || snapshots.repository === null
          ? null
          : {
              archivedLsn: async (pid) => {
                const lsn = await snapshots.archivedLsn(pid);
                return lsn === null || lsn === LSN_INVALID ? null : lsn;
              },
              create: async (pid) => {
                const [manifest] = await snapshots.create(pid);
                return { snapshotId: manifest!.snapshotId, appliedLsn: manifest!.appliedLsn };
              },
            },
    };
  }

  /** Partitions, invoker, ingress and admin on a given metadata store and log (a cluster's worker role). */
  static async startOn(config: NodeConfig, foundation: NodeFoundation, extraAdminRoutes: (node: Node) => AdminRoute[] = () => []): Promise<Node> {
    const baseDir = resolve(config.baseDir);
    mkdirSync(baseDir, { recursive: true });
    const node = new Node(config, foundation);
    try {
      await node.boot(baseDir, extraAdminRoutes(node));
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  private async boot(baseDir: string, routes: AdminRoute[]): Promise<void> {
    this.baseDir = baseDir;
    await this.registry.load();
    this.snapshots = new NodeSnapshots({
      config: this.config,
      baseDir,
      bifrost: this.bifrost,
      clustered: this.foundation.cluster !== undefined,
      processors: this.processors,
      logOf: (pid) => this.router.logOf(pid),
      persist: (pid) => this.foundation.partitionThreads?.persist(pid) ?? this.storeOf.get(pid)!.persist(),
      logger: this.log,
    });
    const threads = this.foundation.partitionThreads;
    if (threads !== undefined) {
      const startedWith = this.registry.schema.registry;
      await threads.start({
        registry: startedWith,
        propose: (target, command) => this.dispatcher.propose(target, command),
      });
      for (const pid of this.router.partitions) this.processors.set(pid, threads.replicas.get(pid)!);
      this.registry.onChange((registry) => threads.publishSchema(registry));
      if (this.registry.schema.registry !== startedWith) await threads.publishSchema(this.registry.schema.registry);
    } else if (this.foundation.cluster === undefined) {
      const processors = this.router.partitions.map((pid) => this.addReplica(pid));
      await Promise.all(processors.map((p) => p.start()));
    }
    this.snapshots.start();
    this.registerMetrics();
    this.admin = new AdminServer({
      port: this.config.admin.port,
      host: this.config.bindAddress,
      registry: this.registry,
      metrics: this.metrics,
      logger: this.log,
      requestIdentityPublicKey: this.identity.publicKey,
      ingressEndpoint: () => this.ingressEndpoint(),
      routes: [
        ...clusterHealthRoutes({
          clusterName: this.config.cluster.name,
          ...(parseMetadataAddress(this.config.cluster.metadata).kind === "embedded" ? { embeddedMetadataMembers: [this.nodeId] } : {}),
        }),
        ...deploymentRoutes({ registry: this.registry, pinnedInvocations: (id) => this.pinnedInvocations(id) }),
        ...invocationRoutes(this.dispatcher, () => this.registry.schema), ...queryRoutes(this.queryEngine()),
        ...clusterStatusRoutes(() => this.clusterStatus),
        ...uiRoutes(),
        ...stateRoutes({ schema: () => this.registry.schema, dispatcher: this.dispatcher, keyHolder: (s, k) => this.keyHolder(s, k) }), ...snapshotRoutes(this.snapshots), ...partitionRoutes((pid) => this.verify(pid)), ...routes],
    });
    this.adminPort = await this.admin.listen();
    const startedWith = this.registry.schema.registry;
    const { thread, port } = await IngressThread.start({
      settings: {
        port: this.config.ingress.port,
        host: this.config.bindAddress,
        bodyLimitBytes: this.config.ingress.bodyLimitBytes,
        corsAllowedOrigins: this.config.ingress.corsAllowedOrigins,
        retention: this.config.retention,
        nodeId: this.nodeId,
        nodeName: this.config.nodeName,
        partitions: this.config.partitions,
        tracing: this.config.tracing,
      },
      registry: startedWith,
      dispatcher: this.dispatcher,
      partitionLinks: this.foundation.partitionThreads?.ingressLinks,
      logger: this.log,
    });
    this.ingress = thread;
    this.foundation.partitionThreads?.relinkIngress((link) => thread.addPartitionLink(link));
    this.registry.onChange((registry) => thread.publishSchema(registry));
    // A change while the thread started is not lost.
    if (this.registry.schema.registry !== startedWith) await thread.publishSchema(this.registry.schema.registry);
    this.ingressPort = port;
    this.log.info({ ingressPort: this.ingressPort, adminPort: this.adminPort, partitions: this.config.partitions, baseDir }, "reprise node ready");
  }

  /** The URL clients reach this node's ingress at, once it listens (a wildcard bind address is reached on localhost). */
  private ingressEndpoint(): string | undefined {
    if (this.ingressPort === 0) return undefined;
    const host = this.config.bindAddress === "0.0.0.0" || this.config.bindAddress === "::" ? "localhost" : this.config.bindAddress;
    return `http://${host.includes(":") ? `[${host}]` : host}:${this.ingressPort}/`;
  }

  /**
   * The processor of this node's replica of `pid`, created (following the log, not leading) on
   * first use; its store lives under the base directory, so a restarted node resumes from it.
   */
  addReplica(pid: PartitionId): PartitionProcessor {
    const existing = this.localProcessors.get(pid);
    if (existing !== undefined) return existing;
    if (this.invoker === null) throw new Error("a node with partition threads adds no replicas on its main thread");
    const store = new PartitionStore(partitionStorePath(this.baseDir, pid));
    this.storeOf.set(pid, store);
    const processor = new PartitionProcessor({
      partitionId: pid,
      logId: this.router.logOf(pid),
      nodeId: this.nodeId,
      bifrost: this.bifrost,
      store,
      router: this.router,
      invoker: this.invoker,
      onResult: (applied) => this.dispatcher.completeResult(applied),
      relayResult: (applied) => this.dispatcher.relayResult(pid, applied),
      deliver: (target, command) => this.dispatcher.propose(target, command),
      logger: this.log,
      snapshots: this.snapshots?.restorer,
    });
    this.processors.set(pid, processor);
    this.localProcessors.set(pid, processor);
    processor.follow();
    return processor;
  }

  /** What this node's invokers know of the invocations they drive (on every partition thread, or this thread's). */
  private async invokerStates(): Promise<Iterable<readonly [InvocationId, InvokerInvocationState]>> {
    return this.foundation.partitionThreads?.invokerStates() ?? this.invoker?.states() ?? [];
  }

  /** Rebuilds this node's replica of `pid` from the log in a scratch store and compares the two. */
  private verify(pid: PartitionId): Promise<VerifyReport> {
    const processor = this.processors.get(pid);
    if (processor === undefined) throw new NotFoundError(`partition ${pid} has no replica on this node`, "partition_not_found");
    return verifyPartition({
      partitionId: pid,
      logId: this.router.logOf(pid),
      bifrost: this.bifrost,
      live: processor.store,
      ...(this.snapshots?.restorer !== undefined ? { restorer: this.snapshots.restorer } : {}),
      scratchDir: join(this.baseDir, "scratch"),
      logger: this.log,
    });
  }

  /** Unfinished invocations pinned to a deployment, over this node's partition replicas. */
  private pinnedInvocations(deploymentId: string): number {
    let n = 0;
    for (const { store } of this.processors.values()) {
      n += store.read((tx) => tx.listInvocations().filter((inv) => inv.status !== "completed" && inv.pinnedDeployment?.deploymentId === deploymentId).length);
    }
    return n;
  }

  /** Who holds an object or workflow key on this node's replica of its partition (undefined: no replica here). */
  private keyHolder(service: string, key: string): InvocationId | null | undefined {
    const processor = this.processors.get(this.router.partitionOfKey(partitionKeyForKey(service, key)));
    return processor?.store.read((tx) => tx.getKeyLock(service, key));
  }

  /** SQL introspection over this node's partition stores and schema registry. */
  private queryEngine(): QueryEngine {
    this.queries ??= new QueryEngine({
      stores: () => [...this.processors].map(([pid, p]) => [pid, p.store] as const),
      schema: () => this.registry.schema,
      invokerStates: () => this.invokerStates(),
      partitionStates: async () => (this.clusterStatus === null ? [] : partitionStateRows(await this.clusterStatus.status())),
      ...(this.foundation.cluster === undefined ? {} : { cluster: this.clusterQueryRows(this.foundation.cluster) }),
    });
    return this.queries;
  }

  /** A query's rows in a cluster: each partition read where it is led (`ClusterQueryRows`). */
  private clusterQueryRows(cluster: NonNullable<NodeFoundation["cluster"]>): ClusterQueryRows {
    return new ClusterQueryRows({
      me: this.nodeId,
      partitions: this.router.partitions,
      local: (p) => {
        const processor = this.processors.get(p);
        return processor === undefined ? undefined : { leads: processor.isLeader };
      },
      leaderOf: (p) => cluster.remote.leaderOf(p),
      replicasOf: (p) => cluster.remote.replicasOf(p),
      load: cluster.queryRows,
      logger: this.log,
    });
  }

  /** The rows `query` reads from this node's replicas of `partitions`, for another node that runs it. */
  async loadQueryRows(query: string, partitions: readonly PartitionId[], timeoutMs: number): Promise<Uint8Array> {
    const missing = partitions.filter((p) => !this.processors.has(p));
    if (missing.length > 0) throw new NoLocalReplicaError(`partition ${missing.join(", ")}`);
    return this.queryEngine().loadRows(query, new Set(partitions), timeoutMs);
  }

  async stop(): Promise<void> {
    await this.nodeRpc?.close();
    await this.ingress?.close();
    await this.admin?.close();
    await this.queries?.close();
    this.invoker?.close();
    await this.tracing.tracing.shutdown();
    await this.snapshots?.stop();
    await this.foundation.partitionThreads?.close();
    await Promise.all([...this.localProcessors.values()].map((p) => p.stop()));
    for (const s of this.storeOf.values()) s.close();
    this.registry.close();
    if (!this.foundation.owned) return;
    await this.bifrost.close();
    await this.metadata.close();
  }

  private registerMetrics(): void {
    collectDefaultMetrics({ register: this.metrics, prefix: "reprise_" });
    // Replicas come and go with the placement in a cluster: read the map at each scrape.
    const processors = { [Symbol.iterator]: () => this.processors.values() };
    new Gauge({
      name: "reprise_partition_applied_lsn",
      help: "Last LSN applied to the partition store",
      labelNames: ["partition"],
      registers: [this.metrics],
      collect() {
        for (const p of processors) this.set({ partition: String(p.partitionId) }, p.appliedLsn);
      },
    });
    new Gauge({
      name: "reprise_partition_leader_epoch",
      help: "Current leader epoch of the partition",
      labelNames: ["partition"],
      registers: [this.metrics],
      collect() {
        for (const p of processors) this.set({ partition: String(p.partitionId) }, p.leaderEpoch);
      },
    });
    const snapshots = this.snapshots;
    new Gauge({
      name: "reprise_partition_archived_lsn",
      help: "Applied LSN of the partition's newest snapshot in the repository, as last learnt",
      labelNames: ["partition"],
      registers: [this.metrics],
      collect() {
        for (const p of processors) {
          const archived = snapshots?.knownArchivedLsn(p.partitionId);
          if (archived !== undefined) this.set({ partition: String(p.partitionId) }, archived);
        }
      },
    });
    const invokerStates = () => this.invokerStates();
    new Gauge({
      name: "reprise_invoker_inflight_invocations",
      help: "Invocations with a running or pending attempt on this node",
      registers: [this.metrics],
      async collect() {
        this.set([...(await invokerStates())].length);
      },
    });
  }
}
