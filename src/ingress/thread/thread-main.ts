/**
 * The ingress thread: the client HTTP API on an event loop of its own. libuv accepts one
 * connection per loop iteration; on the node's main thread, whose iterations last 100-150 ms
 * under overload (applying records, running invocations), a burst of new clients waited seconds
 * in the accept queue. Here an iteration is only HTTP parsing and messages.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { rootLogger } from "../../common/logger.ts";
import { MessageBatcher } from "../../common/message-batcher.ts";
import { errorToThread } from "../../common/thread-error.ts";
import { invocationTracingFor } from "../../common/invocation-tracing.ts";
import { PartitionRouter } from "../../partition/routing.ts";
import { SchemaView } from "../../schema/schema.ts";
import { IngressServer } from "../server.ts";
import { DispatcherProxy } from "./dispatcher-proxy.ts";
import type { IngressThreadSettings, PartitionLink, ToIngress, ToMain } from "./messages.ts";

const settings = workerData.settings as IngressThreadSettings;
const port = parentPort!;
const toMain = new MessageBatcher<ToMain>((batch) => port.postMessage(batch));
const send = (m: ToMain): void => toMain.send(m);
let schema = new SchemaView(settings.schema);
const dispatcher = new DispatcherProxy(settings.nodeId, toMain, new PartitionRouter(settings.partitions), settings.keyless);
const links: { link: MessagePort; batcher: MessageBatcher<ToMain> }[] = [];
function useLink({ partitions, port: link }: PartitionLink): void {
  const batcher = new MessageBatcher<ToMain>((batch) => link.postMessage(batch));
  link.on("message", (batch: readonly ToIngress[]) => {
    for (const m of batch) dispatcher.receive(m);
  });
  // The partition thread exited (it failed, or the node is stopping): nothing will answer there.
  // Until a restarted thread's link arrives, those partitions' calls go to the main thread,
  // which answers them (a write appended through the restarted thread or a retryable 503, reads
  // from the stores); their result waiters wait for the new link.
  link.once("close", () => {
    const at = links.findIndex((l) => l.link === link);
    if (at >= 0) links.splice(at, 1);
    dispatcher.linkClosed(batcher, `the thread of partitions ${partitions.join(", ")} is gone; retry the request`);
  });
  links.push({ link, batcher });
  dispatcher.linkOpened(partitions, batcher);
}
for (const link of settings.partitionLinks) useLink(link);
const tracing = invocationTracingFor(settings.tracing, settings.nodeName);
const ingress = new IngressServer({
  port: settings.port,
  host: settings.host,
  bodyLimitBytes: settings.bodyLimitBytes,
  corsAllowedOrigins: settings.corsAllowedOrigins,
  retention: settings.retention,
  schema: () => schema,
  dispatcher,
  tracing,
  logger: rootLogger.child({ node: settings.nodeName }),
});

port.on("message", (batch: readonly ToIngress[]) => {
  for (const m of batch) receive(m);
});

function receive(m: ToIngress): void {
  if (dispatcher.receive(m)) return;
  if (m.t === "schema") {
    schema = new SchemaView(m.registry);
    send({ t: "schema-applied", version: m.version });
  } else if (m.t === "link") {
    useLink(m.link);
  } else if (m.t === "close") {
    void close();
  }
}

async function close(): Promise<void> {
  await ingress.close();
  dispatcher.failAll("the node is stopping");
  await tracing.tracing.shutdown();
  send({ t: "closed" });
  toMain.flush();
  for (const { link, batcher } of links) {
    batcher.flush();
    link.close();
  }
  port.close();
}

ingress.listen().then(
  (bound) => send({ t: "listening", port: bound }),
  (e: unknown) => {
    send({ t: "failed", error: errorToThread(e) });
    toMain.flush();
    port.close();
  },
);
