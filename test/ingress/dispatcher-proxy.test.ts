import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageBatcher } from "../../src/common/message-batcher.ts";
import type { ToMain } from "../../src/ingress/thread/messages.ts";
import { DispatcherProxy } from "../../src/ingress/thread/dispatcher-proxy.ts";
import { PartitionRouter } from "../../src/partition/routing.ts";
import { newInvocationId, type InvocationId } from "../../src/types/ids.ts";
import { RepriseError } from "../../src/types/errors.ts";

/** An id on each of the router's two partitions. */
function idsOnBothPartitions(router: PartitionRouter): [InvocationId, InvocationId] {
  const [p0, p1] = router.partitions;
  return [newInvocationId(router.randomKeyIn(p0!)), newInvocationId(router.randomKeyIn(p1!))];
}

test("each partition's calls go to its thread's port, and fail as retryable when that thread is gone", async () => {
  const router = new PartitionRouter(2);
  const sent = { main: [] as ToMain[], p1: [] as ToMain[] };
  const toMain = new MessageBatcher<ToMain>((b) => sent.main.push(...b));
  const toP1 = new MessageBatcher<ToMain>((b) => sent.p1.push(...b));
  const proxy = new DispatcherProxy(1, toMain, router, "any");
  proxy.linkOpened([router.partitions[1]!], toP1);
  const [onMain, onP1] = idsOnBothPartitions(router);
  const viaMain = proxy.readStatus(onMain);
  const viaP1 = proxy.readStatus(onP1);
  proxy.awaitResult(onP1, "r1");
  await Promise.resolve();
  assert.deepEqual(sent.main.map((m) => m.t), ["call"]);
  assert.deepEqual(sent.p1.map((m) => m.t), ["call", "await"]);
  proxy.linkClosed(toP1, "the thread of partitions 1 is gone; retry the request");
  await assert.rejects(viaP1, (e: unknown) => e instanceof RepriseError && e.code === "partition_thread_gone" && e.retryable && e.httpStatus === 503);
  // The main thread's call is still waiting, and its answer still arrives.
  const call = sent.main[0] as Extract<ToMain, { t: "call" }>;
  proxy.receive({ t: "answer", seq: call.seq, ok: true, value: null, keyless: "any" });
  assert.equal(await viaMain, null);
});

test("a result waiter whose partition thread exits waits for the restarted thread's link, and is registered there again", async () => {
  const router = new PartitionRouter(2);
  const p1 = router.partitions[1]!;
  const sent = { main: [] as ToMain[], old: [] as ToMain[], restarted: [] as ToMain[] };
  const proxy = new DispatcherProxy(1, new MessageBatcher<ToMain>((b) => sent.main.push(...b)), router, "any");
  const oldLink = new MessageBatcher<ToMain>((b) => sent.old.push(...b));
  proxy.linkOpened([p1], oldLink);
  const [, onP1] = idsOnBothPartitions(router);
  const before = proxy.awaitResult(onP1, "before");
  await Promise.resolve();
  assert.deepEqual(sent.old, [{ t: "await", id: onP1, requestId: "before" }]);
  proxy.linkClosed(oldLink, "gone");
  // While the thread restarts no other thread applies its results: nothing is registered anywhere.
  const during = proxy.awaitResult(onP1, "during");
  const cancelled = proxy.awaitResult(onP1, "cancelled");
  cancelled.cancel();
  await Promise.resolve();
  assert.deepEqual(sent.main, []);
  const restarted = new MessageBatcher<ToMain>((b) => sent.restarted.push(...b));
  proxy.linkOpened([p1], restarted);
  await Promise.resolve();
  assert.deepEqual(sent.restarted, [
    { t: "await", id: onP1, requestId: "before", again: true },
    { t: "await", id: onP1, requestId: "during", again: true },
  ]);
  const result = { kind: "success", value: new Uint8Array([1]) } as const;
  proxy.receive({ t: "result", id: onP1, requestId: "before", answer: { result, refused: false } });
  proxy.receive({ t: "result", id: onP1, requestId: "during", answer: { result, refused: false } });
  assert.deepEqual(await before.answer, { result, refused: false });
  assert.deepEqual(await during.answer, { result, refused: false });
});
