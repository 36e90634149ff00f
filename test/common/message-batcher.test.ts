import { test } from "node:test";
import assert from "node:assert/strict";
import { MessageBatcher } from "../../src/common/message-batcher.ts";

test("messages sent in one task are posted as one batch, in order, before the next task", async () => {
  const posted: (readonly number[])[] = [];
  const batcher = new MessageBatcher<number>((batch) => posted.push(batch));
  batcher.send(1);
  batcher.send(2);
  batcher.send(3);
  assert.deepEqual(posted, [], "nothing is posted synchronously");
  await Promise.resolve();
  assert.deepEqual(posted, [[1, 2, 3]]);
  await new Promise((r) => setImmediate(r));
  batcher.send(4);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(posted, [[1, 2, 3], [4]]);
});

test("flush posts what is pending at once, and the scheduled flush then posts nothing", async () => {
  const posted: (readonly string[])[] = [];
  const batcher = new MessageBatcher<string>((batch) => posted.push(batch));
  batcher.send("closed");
  batcher.flush();
  assert.deepEqual(posted, [["closed"]]);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(posted, [["closed"]]);
  batcher.send("again");
  await Promise.resolve();
  assert.deepEqual(posted, [["closed"], ["again"]]);
});
