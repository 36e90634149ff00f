import assert from "node:assert/strict";
import { MessageChannel } from "node:worker_threads";
import { test } from "node:test";
import { ThreadChannel, type ThreadFrame } from "../../src/common/thread-channel.ts";
import { RepriseError } from "../../src/types/errors.ts";

type LeftServes = { ping: { args: [n: number]; answer: number }; fail: { args: [typed: boolean]; answer: void }; heard: { args: [what: string]; answer: void } };
type RightServes = { echo: { args: [s: string]; answer: string } };

/** Two channels over a real MessageChannel, as two threads would have them. */
function pair(noticeFailed: (op: string, e: unknown) => void = () => undefined) {
  const { port1, port2 } = new MessageChannel();
  const heard: string[] = [];
  const left = new ThreadChannel<LeftServes, RightServes>(
    (batch) => port1.postMessage(batch),
    {
      ping: (n) => n + 1,
      fail: async (typed) => {
        throw typed ? new RepriseError("no_such_thing", "there is no such thing", true, 404) : new Error("plain failure");
      },
      heard: (what) => {
        if (what === "boom") throw new Error("notice handler failed");
        heard.push(what);
      },
    },
    noticeFailed,
  );
  const right = new ThreadChannel<RightServes, LeftServes>((batch) => port2.postMessage(batch), { echo: (s) => s }, noticeFailed);
  port1.on("message", (batch: readonly ThreadFrame[]) => left.receive(batch));
  port2.on("message", (batch: readonly ThreadFrame[]) => right.receive(batch));
  const close = () => {
    port1.close();
    port2.close();
  };
  return { left, right, heard, close };
}

test("calls are answered with the other side's value, in either direction", async () => {
  const { left, right, close } = pair();
  try {
    assert.deepEqual(await Promise.all([right.call("ping", 1), right.call("ping", 41)]), [2, 42]);
    assert.equal(await left.call("echo", "hi"), "hi");
  } finally {
    close();
  }
});

test("a failed call rejects with the error's code, message and retryability; an untyped one with its message", async () => {
  const { right, close } = pair();
  try {
    await assert.rejects(right.call("fail", true), (e: unknown) => e instanceof RepriseError && e.code === "no_such_thing" && e.retryable && e.httpStatus === 404 && e.message === "there is no such thing");
    await assert.rejects(right.call("fail", false), (e: unknown) => !(e instanceof RepriseError) && e instanceof Error && e.message === "plain failure");
  } finally {
    close();
  }
});

test("a notice runs its handler without an answer; a failing one is reported, not thrown", async () => {
  const failures: [string, string][] = [];
  const { right, heard, close } = pair((op, e) => failures.push([op, (e as Error).message]));
  try {
    right.notify("heard", "one");
    right.notify("heard", "boom");
    right.notify("heard", "two");
    await right.call("ping", 0);
    assert.deepEqual(heard, ["one", "two"]);
    assert.deepEqual(failures, [["heard", "notice handler failed"]]);
  } finally {
    close();
  }
});

test("once closed, waiting calls and later ones fail with the reason", async () => {
  const { port1 } = new MessageChannel();
  const channel = new ThreadChannel<RightServes, LeftServes>((batch) => port1.postMessage(batch), { echo: (s) => s }, () => undefined);
  const waiting = channel.call("ping", 1);
  const gone = new RepriseError("thread_gone", "the other thread is gone", true, 503);
  channel.close(gone);
  await assert.rejects(waiting, (e: unknown) => e === gone);
  await assert.rejects(channel.call("ping", 2), (e: unknown) => e === gone);
  port1.close();
});
