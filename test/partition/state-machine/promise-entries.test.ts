import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { workflowRunInvocationId } from "../../../src/partition/routing.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import { TestPartition, bytes, notified, request, text, workflow } from "./harness.ts";

describe("state machine: workflow promises", () => {
  let p: TestPartition;
  let run: InvocationId;
  let shared: InvocationId;
  beforeEach(() => {
    p = new TestPartition();
    run = workflowRunInvocationId("Signup", "alice");
    p.invoke(request(workflow("alice"), { id: run }));
    shared = request(workflow("alice", "approve", "SHARED")).id;
    p.invoke(request(workflow("alice", "approve", "SHARED"), { id: shared }));
  });
  afterEach(() => p.close());

  const complete = (id: InvocationId, completionId: number, value: string) =>
    p.command(id, pb.CompletePromiseCommandMessageSchema, { key: "approval", completion: { case: "completionValue", value: { content: bytes(value) } }, resultCompletionId: completionId });

  it("a pending get waits; completing the promise answers the waiter and the completer", () => {
    assert.deepEqual(p.command(run, pb.GetPromiseCommandMessageSchema, { key: "approval", resultCompletionId: 1 }), []);
    assert.deepEqual(p.read((tx) => tx.getPromise("Signup", "alice", "approval")), { state: "pending", waiters: [{ invocationId: run, completionId: 1 }] });

    const effects = complete(shared, 1, "yes");
    const [forWaiter] = notified(effects, pb.GetPromiseCompletionNotificationMessageSchema);
    assert.equal(forWaiter?.completionId, 1);
    assert.equal(text((forWaiter?.result.value as pb.Value).content), "yes");
    assert.deepEqual(p.status(run).deliveredCompletions, [1]);
    const [forCompleter] = notified(effects, pb.CompletePromiseCompletionNotificationMessageSchema);
    assert.equal(forCompleter?.result.case, "void");
    assert.deepEqual(p.read((tx) => tx.getPromise("Signup", "alice", "approval")), { state: "resolved", value: bytes("yes"), waiters: [] });
  });

  it("a get or peek of a completed promise is answered at once; a second completion fails", () => {
    const rejected = p.command(shared, pb.CompletePromiseCommandMessageSchema, {
      key: "approval",
      completion: { case: "completionFailure", value: { code: 400, message: "denied" } },
      resultCompletionId: 1,
    });
    assert.equal(notified(rejected, pb.CompletePromiseCompletionNotificationMessageSchema)[0]?.result.case, "void");

    const [got] = notified(p.command(run, pb.GetPromiseCommandMessageSchema, { key: "approval", resultCompletionId: 1 }), pb.GetPromiseCompletionNotificationMessageSchema);
    assert.deepEqual([got?.result.case, (got?.result.value as pb.Failure).code, (got?.result.value as pb.Failure).message], ["failure", 400, "denied"]);
    const [peeked] = notified(p.command(run, pb.PeekPromiseCommandMessageSchema, { key: "approval", resultCompletionId: 2 }), pb.PeekPromiseCompletionNotificationMessageSchema);
    assert.equal(peeked?.result.case, "failure");

    const [again] = notified(complete(shared, 2, "yes"), pb.CompletePromiseCompletionNotificationMessageSchema);
    assert.deepEqual([again?.result.case, (again?.result.value as pb.Failure).code], ["failure", 409]);
    assert.equal(p.read((tx) => tx.getPromise("Signup", "alice", "approval"))?.state, "rejected", "the first completion stands");
  });

  it("a peek of a pending promise is empty and does not wait", () => {
    const [peeked] = notified(p.command(run, pb.PeekPromiseCommandMessageSchema, { key: "approval", resultCompletionId: 1 }), pb.PeekPromiseCompletionNotificationMessageSchema);
    assert.equal(peeked?.result.case, "void");
    assert.equal(p.read((tx) => tx.getPromise("Signup", "alice", "approval")), null);
  });
});
