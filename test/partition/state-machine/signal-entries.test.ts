import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { formatAwakeableId } from "../../../src/partition/awakeable-id.ts";
import { idempotentInvocationId } from "../../../src/partition/routing.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import { TestPartition, bytes, decodeEntry, nextId, notified, request, service, text } from "./harness.ts";

describe("state machine: awakeables, signals, attach and output", () => {
  let p: TestPartition;
  let id: InvocationId;
  beforeEach(() => {
    p = new TestPartition();
    id = request(service()).id;
    p.invoke({ ...request(service()), id });
  });
  afterEach(() => p.close());

  it("completing an awakeable ships a signal to the invocation that owns it, which resumes on it", () => {
    const owner = request(service());
    p.invoke(owner);
    p.command(id, pb.CompleteAwakeableCommandMessageSchema, {
      awakeableId: formatAwakeableId(owner.id, 17),
      result: { case: "value", value: { content: bytes('"ok"') } },
    });
    const [shipped] = p.outbox();
    assert.deepEqual(shipped, { t: "signal", target: owner.id, signal: { idx: 17 }, result: { kind: "success", value: bytes('"ok"') } });

    p.apply({ t: "suspend", id: owner.id, commandCount: 1, awaiting: { completions: [], signals: [17], namedSignals: [] } });
    assert.deepEqual(p.apply(shipped!), [{ t: "invoke", id: owner.id }], "the shipped message applied on the owner's partition");
    const signal = decodeEntry(p.journal(owner.id).at(-1)!, pb.SignalNotificationMessageSchema);
    assert.deepEqual([signal.signalId.value, text((signal.result.value as pb.Value).content)], [17, '"ok"']);
    assert.deepEqual(p.status(owner.id).deliveredSignals, [17]);
  });

  it("a malformed awakeable id is ignored", () => {
    p.command(id, pb.CompleteAwakeableCommandMessageSchema, { awakeableId: "sign_1nonsense", result: { case: "value", value: { content: bytes("1") } } });
    assert.deepEqual(p.outbox(), []);
    assert.equal(p.status(id).commandCount, 2, "still journaled");
  });

  it("a signal to a running invocation is forwarded to its attempt", () => {
    const target = nextId();
    p.command(id, pb.SendSignalCommandMessageSchema, {
      targetInvocationId: target,
      signalId: { case: "name", value: "approve" },
      result: { case: "failure", value: { code: 400, message: "no" } },
    });
    const [shipped] = p.outbox();
    assert.deepEqual(shipped, { t: "signal", target, signal: { name: "approve" }, result: { kind: "failure", code: 400, message: "no" } });

    const [got] = notified(p.apply({ t: "signal", target: id, signal: { idx: 20 }, result: { kind: "void" } }), pb.SignalNotificationMessageSchema);
    assert.deepEqual([got?.signalId.case, got?.signalId.value, got?.result.case], ["idx", 20, "void"]);
  });

  it("attach and get-output ask the target's partition, naming idempotent targets by their derived id", () => {
    const target = nextId();
    p.command(id, pb.AttachInvocationCommandMessageSchema, { target: { case: "invocationId", value: target }, resultCompletionId: 1 });
    p.command(id, pb.GetInvocationOutputCommandMessageSchema, {
      target: { case: "idempotentRequestTarget", value: { serviceName: "Greeter", handlerName: "greet", idempotencyKey: "k" } },
      resultCompletionId: 2,
    });
    assert.deepEqual(p.outbox(), [
      { t: "attach", target, caller: id, completionId: 1, via: "attach" },
      { t: "attach", target: idempotentInvocationId("Greeter", "", "greet", "k"), caller: id, completionId: 2, via: "output" },
    ]);
  });

  it("an attach without a target fails the command", () => {
    const [failed] = notified(p.command(id, pb.AttachInvocationCommandMessageSchema, { resultCompletionId: 1 }), pb.AttachInvocationCompletionNotificationMessageSchema);
    assert.deepEqual([failed?.result.case, (failed?.result.value as pb.Failure).code], ["failure", 400]);
    assert.deepEqual(p.outbox(), []);
  });

  it("answers attach requests: a completed target at once, a running one when it completes, output as not ready", () => {
    const caller = request(service());
    p.invoke(caller);
    p.apply({ t: "attach", target: id, caller: caller.id, completionId: 4, via: "output" });
    p.apply({ t: "attach", target: id, caller: caller.id, completionId: 5, via: "attach" });
    const missing = nextId();
    p.apply({ t: "attach", target: missing, caller: caller.id, completionId: 6, via: "attach" });
    assert.deepEqual(p.outbox(), [
      { t: "invocation-response", target: caller.id, completionId: 4, result: { kind: "failure", code: 470, message: "the response is not ready yet" }, via: "output", notReady: true },
      { t: "invocation-response", target: caller.id, completionId: 6, result: { kind: "failure", code: 404, message: `invocation ${missing} not found` }, via: "attach" },
    ]);
    assert.deepEqual(p.status(id).responseSinks.at(-1), { kind: "invocation", caller: caller.id, completionId: 5, via: "attach" });

    p.command(id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("42") } } });
    const response = p.outbox().at(-1)!;
    assert.deepEqual(response, { t: "invocation-response", target: caller.id, completionId: 5, result: { kind: "success", value: bytes("42") }, via: "attach" });

    const [notReady] = notified(p.apply(p.outbox()[0]!), pb.GetInvocationOutputCompletionNotificationMessageSchema);
    assert.deepEqual([notReady?.completionId, notReady?.result.case], [4, "void"]);
    const [attached] = notified(p.apply(response), pb.AttachInvocationCompletionNotificationMessageSchema);
    assert.deepEqual([attached?.completionId, text((attached?.result.value as pb.Value).content)], [5, "42"]);
  });
});
