import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { workflowRunInvocationId } from "../../../src/partition/routing.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import { T0, TestPartition, bytes, effectsOf, object, request, workflow } from "./harness.ts";

describe("state machine: virtual object inbox and key lock", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  /** Journals an output and ends the attempt, as the SDK does when the handler returns. */
  function finish(id: InvocationId) {
    p.command(id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("1") } } });
    return p.apply({ t: "end", id, commandCount: p.status(id).commandCount });
  }

  it("runs exclusive handlers of one key one at a time, in arrival order", () => {
    const [a, b, c] = [request(object("k")), request(object("k")), request(object("k"))];
    assert.deepEqual(p.invoke(a), [{ t: "invoke", id: a.id }]);
    p.ts = T0 + 1;
    assert.deepEqual(p.invoke(b), [], "queued behind the holder");
    assert.deepEqual(p.invoke(c), []);

    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), a.id);
    assert.equal(p.status(b.id).status, "inboxed");
    assert.equal(p.status(b.id).inboxedAt, T0 + 1);
    assert.deepEqual(
      p.read((tx) => tx.listInbox()).map((e) => e.invocationId),
      [b.id, c.id],
    );

    p.ts = T0 + 2;
    const handOver = finish(a.id);
    assert.deepEqual(effectsOf(handOver, "invoke"), [{ t: "invoke", id: b.id }]);
    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), b.id);
    assert.equal(p.status(b.id).status, "invoked");
    assert.equal(p.status(b.id).runningAt, T0 + 2);
    assert.deepEqual(
      p.read((tx) => tx.listInbox()).map((e) => e.invocationId),
      [c.id],
    );

    finish(b.id);
    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), c.id);
    finish(c.id);
    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), null, "the last holder frees the key");
  });

  it("does not queue other keys or shared handlers behind the holder", () => {
    const holder = request(object("k"));
    p.invoke(holder);
    const other = request(object("other"));
    const shared = request(object("k", "get", "SHARED"));
    assert.deepEqual(p.invoke(other), [{ t: "invoke", id: other.id }]);
    assert.deepEqual(p.invoke(shared), [{ t: "invoke", id: shared.id }]);
    finish(shared.id);
    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), holder.id, "a shared handler never holds the key");
  });

  it("skips a queued invocation that was killed when the key is handed over", () => {
    const [a, b, c] = [request(object("k")), request(object("k")), request(object("k"))];
    for (const r of [a, b, c]) p.invoke(r);
    p.apply({ t: "kill", id: b.id });
    assert.equal(p.status(b.id).status, "completed");
    assert.deepEqual(
      p.read((tx) => tx.listInbox()).map((e) => e.invocationId),
      [c.id],
    );
    assert.deepEqual(effectsOf(finish(a.id), "invoke"), [{ t: "invoke", id: c.id }]);
  });
});

describe("state machine: workflows", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  it("runs a workflow once per key; its state and promises live as long as the run is retained", () => {
    const id = workflowRunInvocationId("Signup", "alice");
    const run = request(workflow("alice"), { id, completionRetentionMs: 1000 });
    assert.deepEqual(effectsOf(p.invoke(run), "invoke"), [{ t: "invoke", id }]);
    assert.deepEqual(effectsOf(p.invoke({ ...run, responseSink: { kind: "ingress", nodeId: 2 } }), "invoke"), [], "a second submission does not run it again");

    p.command(id, pb.SetStateCommandMessageSchema, { key: bytes("email"), value: { content: bytes('"a@x"') } });
    p.command(id, pb.CompletePromiseCommandMessageSchema, { key: "done", completion: { case: "completionValue", value: { content: bytes("1") } }, resultCompletionId: 1 });
    p.command(id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("ok") } } });
    const end = p.apply({ t: "end", id, commandCount: p.status(id).commandCount });
    const [cleanup] = effectsOf(end, "timer");
    assert.deepEqual(cleanup?.timer, { key: `cleanup:${id}`, fireAt: T0 + 1000, kind: "cleanup", invocationId: id });

    assert.deepEqual(effectsOf(p.invoke(run), "invoke"), [], "a completed run is not started again");
    assert.equal(p.read((tx) => tx.getStateValue("Signup", "alice", "email")) !== null, true);

    p.ts = T0 + 1000;
    p.apply({ t: "timer-fired", key: cleanup!.timer.key });
    assert.equal(p.maybeStatus(id), null);
    assert.deepEqual(p.journal(id), []);
    assert.deepEqual(p.read((tx) => tx.getState("Signup", "alice")), new Map());
    assert.equal(p.read((tx) => tx.getPromise("Signup", "alice", "done")), null);
  });
});
