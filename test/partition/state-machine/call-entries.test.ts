import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import type { CalleeAssignment } from "../../../src/partition/records.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import { T0, TestPartition, bytes, effectsOf, nextId, notified, request, service, text } from "./harness.ts";

describe("state machine: calls, sends and runs", () => {
  let p: TestPartition;
  let id: InvocationId;
  beforeEach(() => {
    p = new TestPartition();
    id = request(service()).id;
    p.invoke({ ...request(service()), id });
  });
  afterEach(() => p.close());

  const calleeId = nextId();
  const callee: CalleeAssignment = {
    invocationId: calleeId,
    randomSeed: "7",
    target: { service: "Counter", handler: "add", serviceType: "VIRTUAL_OBJECT", handlerType: "EXCLUSIVE" },
  };
  const callInit = {
    serviceName: "Counter",
    handlerName: "add",
    key: "k1",
    parameter: bytes("1"),
    headers: [{ key: "h", value: "v" }],
    invocationIdNotificationIdx: 1,
    resultCompletionId: 2,
  };

  it("a call invokes the callee through the outbox and tells the caller its id; the response completes it", () => {
    const effects = p.command(id, pb.CallCommandMessageSchema, callInit, callee);

    assert.deepEqual(p.outbox(), [
      {
        t: "invoke",
        request: {
          id: calleeId,
          target: { ...callee.target, key: "k1" },
          argument: bytes("1"),
          headers: [{ key: "h", value: "v" }],
          randomSeed: "7",
          invokedBy: id,
          responseSink: { kind: "invocation", caller: id, completionId: 2 },
        },
      },
    ]);
    assert.equal(effectsOf(effects, "outbox").length, 1);
    assert.deepEqual(notified(effects, pb.CallInvocationIdCompletionNotificationMessageSchema).map((n) => [n.completionId, n.invocationId]), [[1, calleeId]]);

    const response = p.apply({ t: "invocation-response", target: id, completionId: 2, result: { kind: "success", value: bytes("3") } });
    const [done] = notified(response, pb.CallCompletionNotificationMessageSchema);
    assert.equal(done?.completionId, 2);
    assert.equal(text((done?.result.value as pb.Value).content), "3");
    assert.deepEqual(p.status(id).deliveredCompletions, [1, 2]);
    assert.deepEqual(p.apply({ t: "invocation-response", target: id, completionId: 2, result: { kind: "success", value: bytes("3") } }), [], "a duplicate response is dropped");
  });

  it("a call the proposer could not resolve fails the call, not the caller", () => {
    const effects = p.command(id, pb.CallCommandMessageSchema, callInit, { error: { code: 404, message: "no such service" } });
    assert.deepEqual(p.outbox(), []);
    const [failed] = notified(effects, pb.CallCompletionNotificationMessageSchema);
    assert.equal(failed?.result.case, "failure");
    assert.deepEqual([(failed?.result.value as pb.Failure).code, (failed?.result.value as pb.Failure).message], [404, "no such service"]);
    assert.equal(p.status(id).status, "invoked");
  });

  it("a one-way call with an invoke time sends a delayed invocation nobody waits for", () => {
    const { resultCompletionId: _none, ...sendInit } = callInit;
    p.command(id, pb.OneWayCallCommandMessageSchema, { ...sendInit, invokeTime: BigInt(T0 + 3_600_000), idempotencyKey: "once" }, callee);
    const [sent] = p.outbox();
    assert.equal(sent?.t, "invoke");
    const req = sent!.t === "invoke" ? sent!.request : undefined;
    assert.equal(req?.executionTime, T0 + 3_600_000);
    assert.equal(req?.idempotencyKey, "once");
    assert.equal(req?.responseSink, undefined);
  });

  it("a run is only journaled; its proposed result is journaled once and acknowledged to the attempt", () => {
    assert.deepEqual(p.command(id, pb.RunCommandMessageSchema, { resultCompletionId: 1, name: "compose" }), []);
    assert.equal(p.journal(id)[1]?.name, "compose");

    const effects = p.apply({ t: "run-completion", id, completionId: 1, result: { kind: "success", value: bytes('"hi"') } });
    const [ack] = effectsOf(effects, "notification");
    assert.equal(ack?.runAck, 1);
    const [stored] = notified(effects, pb.RunCompletionNotificationMessageSchema);
    assert.equal(text((stored?.result.value as pb.Value).content), '"hi"');
    assert.deepEqual(p.apply({ t: "run-completion", id, completionId: 1, result: { kind: "success", value: bytes("x") } }), []);
    assert.equal(p.journal(id).length, 3);
  });
});
