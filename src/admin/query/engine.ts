import type { Worker } from "node:worker_threads";
import { startTypeScriptWorker } from "../../common/typescript-worker.ts";
import type { SchemaView } from "../../schema/schema.ts";
import type { InvokerInvocationState } from "../../invoker/invoker.ts";
import type { ReadOnlyPartitionStore } from "../../storage/partition-store.ts";
import { SnapshotUnsupportedError } from "../../storage/errors.ts";
import type { InvocationId, PartitionId } from "../../types/ids.ts";
import { RepriseError, UnavailableError } from "../../types/errors.ts";
import type { EncodedResult, QueryAnswer, ResultFormat } from "./execute.ts";
import type { QueryResult } from "./result.ts";
import type { InvokerRow, QueryContext } from "./load.ts";
import type { RowOf } from "./tables.ts";
import type { WorkerRequest, WorkerResponse, WorkerSettings } from "./worker.ts";

/** Where the tables come from: every partition store this node holds, the schema registry, the invoker. */
export interface QuerySources {
  /** This node's partition stores, by partition. */
  stores(): Iterable<readonly [PartitionId, ReadOnlyPartitionStore]>;
  schema(): SchemaView;
  /** The local invoker's view of the invocations it drives (retries, last failure). */
  invokerStates?(): Iterable<readonly [InvocationId, InvokerInvocationState]> | Promise<Iterable<readonly [InvocationId, InvokerInvocationState]>>;
  /** Every partition replica's report, for `partition_state`; asked only by queries that name the table. */
  partitionStates?(): Promise<readonly RowOf<"partition_state">[]>;
  /** In a cluster, where the partitions this node does not read itself are read. */
  cluster?: ClusterRows;
}

/**
 * A cluster's partitions for one query: each is read on one node, so every row appears once, and
 * its invoker columns come from the node that drives its invocations.
 */
export interface ClusterRows {
  gather(query: string, timeoutMs: number): Promise<GatheredRows>;
}

export interface GatheredRows {
  /** Partitions this node reads from its own stores; every other partition's rows are in `rows`. */
  readonly local: ReadonlySet<PartitionId>;
  /** What other nodes loaded for the same query (`QueryEngine.loadRows` there). */
  readonly rows: readonly Uint8Array[];
}

/** Whether a query may read `partition_state`: gathering the replicas' reports asks every node, so other queries skip it. */
const READS_PARTITION_STATE = /\bpartition_state\b/i;

export interface QueryEngineOptions {
  /** A query still running after this long is interrupted. */
  readonly timeoutMs: number;
  /** Worker threads, each running one query at a time. */
  readonly workers: number;
  /** DuckDB's memory limit per worker (e.g. "256MB"); a query needing more fails instead of growing. */
  readonly memoryLimit: string;
}

const DEFAULTS: QueryEngineOptions = { timeoutMs: 30_000, workers: 2, memoryLimit: "256MB" };

/** How long past its timeout a worker may stay silent before it is replaced. */
const WORKER_GRACE_MS = 5_000;

/**
 * SQL over the partition stores, answered by DuckDB (a real engine whose Postgres-like dialect is
 * close to the DataFusion dialect Restate's clients write, and whose result columns are typed) in
 * worker threads: each query is planned, loaded from snapshots of the store files (only the rows
 * and columns it needs), run and encoded there, so the event loop only hands it over and back.
 */
export class QueryEngine {
  private readonly options: QueryEngineOptions;
  private readonly idle: PooledWorker[] = [];
  private readonly all = new Set<PooledWorker>();
  private readonly queue: { request: Omit<WorkerRequest, "seq">; resolve: (r: QueryAnswer) => void; reject: (e: unknown) => void }[] = [];
  private seq = 0;
  private closed = false;

  constructor(
    private readonly sources: QuerySources,
    options: Partial<QueryEngineOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Runs `query`; its result as values. */
  async execute(query: string): Promise<QueryResult> {
    const answer = await this.run(query, "result");
    return (answer as { result: QueryResult }).result;
  }

  /** Runs `query` and encodes its result (in the worker) as JSON rows or an Arrow IPC stream. */
  async executeEncoded(query: string, format: "json" | "arrow"): Promise<EncodedResult> {
    const answer = await this.run(query, format);
    return (answer as { encoded: EncodedResult }).encoded;
  }

  /**
   * The rows `query` reads from this node's stores of `partitions`, with this node's invoker
   * columns, for another node that runs the query; nothing of the schema or the cluster status,
   * which the running node adds itself.
   */
  async loadRows(query: string, partitions: ReadonlySet<PartitionId>, timeoutMs: number): Promise<Uint8Array> {
    const context = { services: [], deployments: [], invoker: await this.invokerRows(), partitionStates: [] };
    const answer = await this.submit(this.storePaths(partitions), { query, format: "rows", timeoutMs: Math.min(timeoutMs, this.options.timeoutMs), context });
    return (answer as { rows: Uint8Array }).rows;
  }

  private async run(query: string, format: ResultFormat): Promise<QueryAnswer> {
    if (this.closed) throw new UnavailableError("the query engine is closed", "shutting_down");
    const started = Date.now();
    const [gathered, partitionStates] = await Promise.all([
      this.sources.cluster?.gather(query, this.options.timeoutMs),
      READS_PARTITION_STATE.test(query) ? this.sources.partitionStates?.() : undefined,
    ]);
    // What the other nodes took counts against the query's time.
    const timeoutMs = Math.max(1, this.options.timeoutMs - (Date.now() - started));
    const run = { query, format, timeoutMs, context: await this.context(partitionStates ?? []), remoteRows: gathered?.rows ?? [] };
    return this.submit(this.storePaths(gathered?.local), run);
  }

  /** Files of this node's stores (of `only`'s partitions, when given). */
  private storePaths(only: ReadonlySet<PartitionId> | undefined): string[] {
    const paths: string[] = [];
    for (const [partition, store] of this.sources.stores()) {
      if (only !== undefined && !only.has(partition)) continue;
      if (store.path === ":memory:") throw new SnapshotUnsupportedError(store.path);
      paths.push(store.path);
    }
    return paths;
  }

  private submit(stores: string[], run: WorkerRequest["run"]): Promise<QueryAnswer> {
    if (this.closed) return Promise.reject(new UnavailableError("the query engine is closed", "shutting_down"));
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { stores, run }, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new UnavailableError("the query engine is closed", "shutting_down"));
    // Terminating a worker in the middle of a DuckDB call aborts the whole process (a native
    // exception escapes the addon): let running queries finish first, within their deadline.
    await Promise.all(
      [...this.all].map(async (w) => {
        await w.quiesce(CLOSE_WAIT_MS);
        await w.worker.terminate();
      }),
    );
    this.all.clear();
    this.idle.length = 0;
  }

  private async context(partitionStates: readonly RowOf<"partition_state">[]): Promise<QueryContext> {
    const schema = this.sources.schema();
    return {
      services: schema.listServices().map((s) => ({ name: s.name, revision: BigInt(s.revision), public: s.public, ty: SERVICE_TY[s.ty], deployment_id: s.deploymentId })),
      deployments: schema.listDeployments().map((d) => ({
        id: d.id,
        ty: "http",
        endpoint: d.uri,
        created_at: d.createdAt,
        min_service_protocol_version: d.minProtocolVersion,
        max_service_protocol_version: d.maxProtocolVersion,
        services: d.services.map((s) => s.name),
      })),
      invoker: await this.invokerRows(),
      partitionStates,
    };
  }

  private async invokerRows(): Promise<InvokerRow[]> {
    const rows: InvokerRow[] = [];
    for (const [id, s] of (await this.sources.invokerStates?.()) ?? []) rows.push({ id, ...s });
    return rows;
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const worker = this.idle.pop() ?? (this.all.size < this.options.workers ? this.spawn() : undefined);
      if (!worker) return;
      const job = this.queue.shift()!;
      worker.run({ seq: ++this.seq, ...job.request }, this.options.timeoutMs + WORKER_GRACE_MS).then(
        (r) => {
          job.resolve(r);
          this.release(worker);
        },
        (e: unknown) => {
          job.reject(e);
          this.release(worker);
        },
      );
    }
  }

  private release(worker: PooledWorker): void {
    if (worker.alive && !this.closed) this.idle.push(worker);
    else this.all.delete(worker);
    this.dispatch();
  }

  private spawn(): PooledWorker {
    const worker = new PooledWorker({ memoryLimit: this.options.memoryLimit, niceness: 10 });
    this.all.add(worker);
    return worker;
  }
}

const SERVICE_TY = { SERVICE: "service", VIRTUAL_OBJECT: "virtual_object", WORKFLOW: "workflow" } as const;

/** How long closing the engine waits for running queries before stopping their workers. */
const CLOSE_WAIT_MS = 10_000;

/** One worker thread with at most one query in flight. */
class PooledWorker {
  readonly worker: Worker;
  alive = true;
  private current?: { seq: number; resolve: (r: QueryAnswer) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout };

  constructor(settings: WorkerSettings) {
    this.worker = startTypeScriptWorker(new URL("./worker.ts", import.meta.url), settings);
    this.worker.on("message", (m: WorkerResponse | { ready: true }) => {
      if (!("seq" in m) || m.seq !== this.current?.seq) return;
      const { resolve, reject, timer } = this.current;
      clearTimeout(timer);
      this.current = undefined;
      if (m.ok) resolve(m.answer);
      else reject(new RepriseError(m.error.code, m.error.message, m.error.retryable, m.error.httpStatus));
    });
    const fail = (e: Error) => {
      this.alive = false;
      if (!this.current) return;
      clearTimeout(this.current.timer);
      this.current.reject(new RepriseError("query_failed", `query worker failed: ${e.message}`, true, 500));
      this.current = undefined;
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`exited with code ${code}`)));
    // After the listeners: attaching a 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  /** Resolves once no query runs on this worker, or after `maxMs`. */
  async quiesce(maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (this.current !== undefined && this.alive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  run(request: WorkerRequest, silenceMs: number): Promise<QueryAnswer> {
    return new Promise((resolve, reject) => {
      // A worker stuck past its query's deadline (e.g. inside one long synchronous read) is replaced.
      const timer = setTimeout(() => {
        this.alive = false;
        void this.worker.terminate();
        reject(new RepriseError("query_timeout", `query interrupted after ${request.run.timeoutMs} ms`, true, 503));
        this.current = undefined;
      }, silenceMs);
      this.current = { seq: request.seq, resolve, reject, timer };
      this.worker.postMessage(request);
    });
  }
}
