import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import type { CalleeAssignment, OutboxMessage } from "../../../src/partition/records.ts";
import type { Effect } from "../../../src/partition/state-machine/index.ts";
import { idempotentInvocationId, workflowRunInvocationId } from "../../../src/partition/routing.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import type { InvocationResult } from "../../../src/types/invocation.ts";
import { T0, TestPartition, bytes, decodeEntry, effectsOf, notified, request, service, text, workflow } from "./harness.ts";

const ALREADY_INVOKED: InvocationResult = { kind: "failure", code: 409, message: "the workflow method was already invoked" };

describe("state machine: calls and sends from handlers with the SDK's options", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  /** A running caller invocation. */
  const caller = (): InvocationId => {
    const req = request(service());
    p.invoke(req);
    return req.id;
  };

  /** Ships the outbox's messages to this partition (caller and callee share it here), as the leader would. */
  const ship = (pick: (m: OutboxMessage) => boolean = () => true) => {
    const shipped = p.outbox().filter(pick);
    return shipped.flatMap((m) => p.apply(m.t === "invoke" ? { t: "invoke", request: m.request } : m));
  };
  const invokesOf = (m: OutboxMessage) => m.t === "invoke";
  const responsesTo = (ids: readonly InvocationId[]) => (m: OutboxMessage) => m.t === "invocation-response" && ids.includes(m.target);

  const charge: CalleeAssignment = {
    invocationId: idempotentInvocationId("Greeter", "", "charge", "order-7"),
    randomSeed: "9",
    target: { service: "Greeter", handler: "charge", serviceType: "SERVICE", handlerType: "EXCLUSIVE" },
    completionRetentionMs: 60_000,
  };
  const chargeCall = {
    serviceName: "Greeter",
    handlerName: "charge",
    parameter: bytes("12"),
    idempotencyKey: "order-7",
    invocationIdNotificationIdx: 1,
    resultCompletionId: 2,
  };

  it("the same idempotent call from 20 invocations runs the callee once and answers all 20 with its result", () => {
    const callers = Array.from({ length: 20 }, caller);
    for (const c of callers) {
      const effects: Effect[] = p.command(c, pb.CallCommandMessageSchema, chargeCall, charge);
      assert.deepEqual(
        notified(effects, pb.CallInvocationIdCompletionNotificationMessageSchema).map((n) => n.invocationId),
        [charge.invocationId],
        "every caller learns the one callee id",
      );
    }
    const shipped = ship(invokesOf);
    assert.deepEqual(effectsOf(shipped, "invoke"), [{ t: "invoke", id: charge.invocationId }], "started once");
    const callee = p.status(charge.invocationId);
    assert.equal(callee.idempotencyKey, "order-7");
    assert.equal(callee.completionRetentionMs, 60_000);
    assert.equal(callee.responseSinks.length, 20);
    assert.equal(p.journal(charge.invocationId).length, 1);

    p.command(charge.invocationId, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes('"charged"') } } });
    p.apply({ t: "end", id: charge.invocationId, commandCount: 2 });
    const answers = p.outbox().filter(responsesTo(callers));
    assert.deepEqual(
      answers.map((m) => (m.t === "invocation-response" ? [m.target, m.completionId, m.result] : [])),
      callers.map((c) => [c, 2, { kind: "success", value: bytes('"charged"') }]),
    );
    ship(responsesTo(callers));
    for (const c of callers) {
      const [, , , done] = p.journal(c);
      assert.equal(text((decodeEntry(done!, pb.CallCompletionNotificationMessageSchema).result.value as pb.Value).content), '"charged"');
    }

    // A later caller with the same key is answered from the stored result, without a run.
    const late = caller();
    p.command(late, pb.CallCommandMessageSchema, chargeCall, charge);
    assert.deepEqual(effectsOf(ship(invokesOf), "invoke"), []);
    assert.deepEqual(
      p.outbox().filter(responsesTo([late])).map((m) => (m.t === "invocation-response" ? m.result : null)),
      [{ kind: "success", value: bytes('"charged"') }],
    );
  });

  const run: CalleeAssignment = {
    invocationId: workflowRunInvocationId("Signup", "alice"),
    randomSeed: "5",
    target: { service: "Signup", handler: "run", serviceType: "WORKFLOW", handlerType: "WORKFLOW" },
  };
  const runCall = { serviceName: "Signup", handlerName: "run", key: "alice", parameter: bytes('"a@x"'), invocationIdNotificationIdx: 1, resultCompletionId: 2 };

  it("a workflow run called from two handlers runs once: the second caller gets Restate's 409, the first the result", () => {
    const [first, second] = [caller(), caller()];
    p.command(first, pb.CallCommandMessageSchema, runCall, run);
    assert.deepEqual(effectsOf(ship(invokesOf), "invoke"), [{ t: "invoke", id: run.invocationId }]);

    const effects = p.command(second, pb.CallCommandMessageSchema, runCall, run);
    assert.deepEqual(notified(effects, pb.CallInvocationIdCompletionNotificationMessageSchema).map((n) => n.invocationId), [run.invocationId]);
    const reshipped = ship(invokesOf);
    assert.deepEqual(effectsOf(reshipped, "invoke"), [], "not run again");
    assert.deepEqual(
      p.outbox().filter(responsesTo([first, second])).map((m) => (m.t === "invocation-response" ? [m.target, m.result] : [])),
      [[second, ALREADY_INVOKED]],
      "the first caller's invoke shipped again is not refused",
    );
    assert.deepEqual(p.status(run.invocationId).responseSinks, [{ kind: "invocation", caller: first, completionId: 2 }]);

    p.command(run.invocationId, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes('"done"') } } });
    p.apply({ t: "end", id: run.invocationId, commandCount: 2 });
    ship(responsesTo([first, second]));
    const resultOf = (c: InvocationId) => decodeEntry(p.journal(c)[3]!, pb.CallCompletionNotificationMessageSchema).result;
    assert.equal(text((resultOf(first).value as pb.Value).content), '"done"');
    const refusal = resultOf(second).value as pb.Failure;
    assert.deepEqual([refusal.code, refusal.message], [409, "the workflow method was already invoked"]);
  });

  it("a workflow run sent twice from handlers runs once; both senders learn the run's id", () => {
    const [a, b] = [caller(), caller()];
    const { resultCompletionId: _none, ...send } = runCall;
    const ids = [a, b].flatMap((c) =>
      notified(p.command(c, pb.OneWayCallCommandMessageSchema, send, run), pb.CallInvocationIdCompletionNotificationMessageSchema).map((n) => n.invocationId),
    );
    assert.deepEqual(ids, [run.invocationId, run.invocationId]);
    assert.deepEqual(effectsOf(ship(invokesOf), "invoke"), [{ t: "invoke", id: run.invocationId }]);
    assert.deepEqual(p.status(run.invocationId).responseSinks, []);
    assert.deepEqual(p.outbox().filter((m) => m.t === "invocation-response"), [], "a send has nobody to refuse");
  });

  it("a send's headers, delay and idempotency key reach the callee", () => {
    const c = caller();
    const delayed: CalleeAssignment = { ...charge, invocationId: idempotentInvocationId("Greeter", "", "charge", "later") };
    const { resultCompletionId: _none, ...send } = chargeCall;
    p.command(c, pb.OneWayCallCommandMessageSchema, { ...send, idempotencyKey: "later", headers: [{ key: "x-tenant", value: "t1" }], invokeTime: BigInt(T0 + 5_000) }, delayed);
    const shipped = ship(invokesOf);
    assert.deepEqual(effectsOf(shipped, "invoke"), [], "not before its time");
    const callee = p.status(delayed.invocationId);
    assert.deepEqual([callee.status, callee.executionTime, callee.idempotencyKey, callee.invokedBy], ["scheduled", T0 + 5_000, "later", c]);
    assert.deepEqual(callee.headers, [{ key: "x-tenant", value: "t1" }]);
    const input = decodeEntry(p.journal(delayed.invocationId)[0]!, pb.InputCommandMessageSchema);
    assert.deepEqual(
      input.headers.map((h) => [h.key, h.value]),
      [["x-tenant", "t1"]],
    );

    p.ts = T0 + 5_000;
    const [timer] = effectsOf(shipped, "timer");
    assert.deepEqual(p.apply({ t: "timer-fired", key: timer!.timer.key }), [{ t: "invoke", id: delayed.invocationId }]);
  });
});

describe("state machine: a second run of a workflow from the ingress", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  const id = workflowRunInvocationId("Signup", "bob");
  const submit = (requestId: string) => p.invoke(request(workflow("bob"), { id, responseSink: { kind: "ingress", nodeId: 1, requestId } }));

  it("is refused for that request alone, while running and once completed; the same request proposed again is not", () => {
    assert.deepEqual(effectsOf(submit("r1"), "invoke"), [{ t: "invoke", id }]);
    assert.deepEqual(submit("r2"), [{ t: "result", id, result: ALREADY_INVOKED, requestId: "r2", refused: true }]);
    assert.deepEqual(submit("r1"), [], "a re-proposed first request waits for the run");
    assert.deepEqual(p.status(id).responseSinks, [{ kind: "ingress", nodeId: 1, requestId: "r1" }]);

    const output = p.command(id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("1") } } });
    assert.deepEqual(effectsOf(output, "result"), [{ t: "result", id, result: { kind: "success", value: bytes("1") } }], "the run's result is for every waiter");
    p.apply({ t: "end", id, commandCount: 2 });
    assert.deepEqual(submit("r3"), [{ t: "result", id, result: ALREADY_INVOKED, requestId: "r3", refused: true }]);
  });

  it("an idempotent request's duplicate from the ingress shares the result, answered alone once it is stored", () => {
    const target = service();
    const key = idempotentInvocationId(target.service, "", target.handler, "k");
    const send = (requestId: string) => p.invoke(request(target, { id: key, idempotencyKey: "k", responseSink: { kind: "ingress", nodeId: 1, requestId } }));
    send("r1");
    assert.deepEqual(send("r2"), [], "waits with the first: one result effect wakes every waiter of the id");
    p.command(key, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("2") } } });
    p.apply({ t: "end", id: key, commandCount: 2 });
    assert.deepEqual(send("r3"), [{ t: "result", id: key, result: { kind: "success", value: bytes("2") }, requestId: "r3" }]);
  });
});
