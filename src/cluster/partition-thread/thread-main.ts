/**
 * A partition thread: some of a single node's partitions, each with its processor, its store (the
 * only writer of the file) and its log's local loglet, and one invoker for all of them, on an
 * event loop of its own. Applying records, running invocations and writing the log of one thread's
 * partitions never waits behind another's. The node's main thread reaches them through
 * `PartitionThreads`; the metadata store stays there (`ThreadMetadataStore`).
 */
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { createLocalBifrost } from "../../bifrost/local/create-local-bifrost.ts";
import { rootLogger } from "../../common/logger.ts";
import { invocationTracingFor } from "../../common/invocation-tracing.ts";
import { ThreadChannel, type ThreadFrame, type ThreadHandlers } from "../../common/thread-channel.ts";
import { errorToThread } from "../../common/thread-error.ts";
import { Invoker } from "../../invoker/invoker.ts";
import { ThreadMetadataStore } from "../../metadata/thread-metadata-store.ts";
import { DispatcherServer } from "../../ingress/thread/dispatcher-server.ts";
import type { ToIngress, ToMain } from "../../ingress/thread/messages.ts";
import { MessageBatcher } from "../../common/message-batcher.ts";
import { PartitionDispatcher } from "../../partition/dispatcher.ts";
import { PartitionProcessor } from "../../partition/processor.ts";
import { PartitionRouter } from "../../partition/routing.ts";
import { SchemaView } from "../../schema/schema.ts";
import { PartitionStore, partitionStorePath } from "../../storage/partition-store.ts";
import { UnavailableError } from "../../types/errors.ts";
import type { PartitionId } from "../../types/ids.ts";
import { snapshotRestorer } from "../node-snapshots.ts";
import { loadRequestIdentity } from "../request-identity-key.ts";
import type { MainThreadCalls, PartitionThreadCalls, PartitionThreadData, ReplicaLeadership } from "./calls.ts";

/** How often leadership is compared with what was last reported (it changes at start, stop and halt). */
const LEADERSHIP_CHECK_MS = 200;

const data = workerData as PartitionThreadData;
const port = parentPort!;
const { config, baseDir } = data;
const log = rootLogger.child({ node: config.nodeName, partitionThread: data.index });
const router = new PartitionRouter(config.partitions);
const mine = new Set(data.partitions);
const processors = new Map<PartitionId, PartitionProcessor>();
/** Each partition's store, written by its processor alone (and by `persist`). */
const stores = new Map<PartitionId, PartitionStore>();
let schema = new SchemaView(data.registry);

const metadata = new ThreadMetadataStore({ call: (op, ...args) => channel.call(op, ...args) });
const handlers: ThreadHandlers<PartitionThreadCalls> = {
  ...metadata.notices,
  append: (partition, command) => owned(processors, partition).appendRecord(command),
  persist: (partition) => owned(stores, partition).persist(),
  logAppend: (logId, payloads) => bifrost.append(logId, payloads),
  logRead: (logId, from, limit) => bifrost.read(logId, from, limit),
  logWaitForTail: (logId, lsn) => bifrost.waitForTail(logId, lsn),
  logFindTail: (logId) => bifrost.findTail(logId),
  logDescribeTail: (logId) => bifrost.describeTail(logId),
  logTrim: (logId, upTo) => bifrost.trim(logId, upTo),
  logGetTrimPoint: (logId) => bifrost.getTrimPoint(logId),
  invokerStates: () => [...invoker.states()],
  schema: (registry) => void (schema = new SchemaView(registry)),
  close: () => close(),
};
const channel = new ThreadChannel<PartitionThreadCalls, MainThreadCalls>(
  (batch) => port.postMessage(batch),
  handlers,
  (op, e) => log.error({ err: e, op }, "a notice from the main thread failed"),
);
port.on("message", (batch: readonly ThreadFrame[]) => channel.receive(batch));

const bifrost = await createLocalBifrost(join(baseDir, "bifrost"), metadata);
const tracing = invocationTracingFor(config.tracing, config.nodeName);
const invoker = new Invoker({
  schema: () => schema,
  retry: config.invoker.retry,
  inactivityTimeoutMs: config.invoker.inactivityTimeoutMs,
  abortTimeoutMs: config.invoker.abortTimeoutMs,
  retention: config.retention,
  eagerStateLimitBytes: config.invoker.eagerStateSizeLimitBytes,
  // The node's limit, shared out over its threads by their partitions.
  concurrentInvocationsLimit: Math.max(1, Math.ceil((config.invoker.concurrentInvocationsLimit * data.partitions.length) / config.partitions)),
  // The main thread loaded (or generated) the key before it started this thread: the same one.
  identity: loadRequestIdentity(config.invoker.requestIdentityPrivateKeyPemFile, baseDir),
  tracing,
  logger: log,
});
const restorer = snapshotRestorer(config, bifrost, join(baseDir, "snapshot-work", `restore-${data.index}`), log);
// The ingress thread's calls for these partitions, answered here without the main thread.
const dispatcher = new PartitionDispatcher(data.nodeId, router, processors);
const ingressBatcher = new MessageBatcher<ToIngress>((batch) => data.ingressPort.postMessage(batch));
const ingress = new DispatcherServer(dispatcher, (m) => ingressBatcher.send(m), log);
data.ingressPort.on("message", (batch: readonly ToMain[]) => {
  for (const m of batch) ingress.receive(m);
});
let leadershipTimer: NodeJS.Timeout | null = null;
let reported = "";

try {
  for (const pid of data.partitions) {
    const store = new PartitionStore(partitionStorePath(baseDir, pid));
    stores.set(pid, store);
    const processor = new PartitionProcessor({
      partitionId: pid,
      logId: router.logOf(pid),
      nodeId: data.nodeId,
      bifrost,
      store,
      router,
      invoker,
      onResult: (applied) => dispatcher.completeResult(applied),
      deliver: (target, command) => {
        const partition = router.partitionOf(target);
        return mine.has(partition) ? owned(processors, partition).appendRecord(command).then(() => undefined) : channel.call("propose", target, command);
      },
      logger: log,
      snapshots: restorer,
    });
    processors.set(pid, processor);
    processor.follow();
  }
  await Promise.all([...processors.values()].map((p) => p.start()));
  const leadership = leadershipNow();
  reported = JSON.stringify(leadership);
  channel.notify("ready", leadership);
  leadershipTimer = setInterval(reportLeadership, LEADERSHIP_CHECK_MS);
  leadershipTimer.unref();
} catch (e) {
  channel.notify("failed", errorToThread(e));
  await close();
}

/** What this thread keeps of `partition` (its processor or its store); refused for a partition of another thread. */
function owned<T>(of: ReadonlyMap<PartitionId, T>, partition: PartitionId): T {
  const thing = of.get(partition);
  if (thing === undefined) throw new UnavailableError(`partition ${partition} is not on this partition thread`, "partition_not_here");
  return thing;
}

function leadershipNow(): ReplicaLeadership[] {
  return [...processors.values()].map((p) => ({ partitionId: p.partitionId, isLeader: p.isLeader, announcedLeader: p.announcedLeader }));
}

function reportLeadership(): void {
  const leadership = leadershipNow();
  const now = JSON.stringify(leadership);
  if (now === reported) return;
  reported = now;
  channel.notify("leadership", leadership);
}

async function close(): Promise<void> {
  if (leadershipTimer !== null) clearInterval(leadershipTimer);
  ingress.cancelAll();
  data.ingressPort.close();
  invoker.close();
  await tracing.tracing.shutdown();
  await Promise.all([...processors.values()].map((p) => p.stop()));
  for (const s of stores.values()) s.close();
  await bifrost.close();
  await metadata.close();
  // The answer to `close` goes out with this batch; then nothing keeps the thread alive.
  setImmediate(() => {
    channel.flush();
    port.close();
  });
}
