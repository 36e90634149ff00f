import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import type { CalleeAssignment } from "../../../src/partition/records.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import { CANCEL_SIGNAL } from "../../../src/types/invocation.ts";
import { T0, TestPartition, bytes, effectsOf, nextId, notified, object, request, service } from "./harness.ts";

const CANCELED = { kind: "failure", code: 409, message: "canceled" } as const;
const KILLED = { kind: "failure", code: 409, message: "killed" } as const;

/** The CANCEL signal as another handler's `ctx.cancel(id)` ships it. */
const cancelSignal = (target: InvocationId) => ({ t: "signal" as const, target, signal: { idx: CANCEL_SIGNAL }, result: { kind: "void" as const } });

const callee = (invocationId: InvocationId): CalleeAssignment => ({
  invocationId,
  randomSeed: "7",
  target: { service: "Greeter", handler: "greet", serviceType: "SERVICE", handlerType: "EXCLUSIVE" },
});

describe("state machine: a CANCEL signal reaches an invocation in every state", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  it("an invocation queued behind its key's holder ends as canceled without running", () => {
    const holder = request(object("k"));
    const queued = request(object("k"));
    p.invoke(holder);
    p.invoke(queued);
    const effects = p.apply(cancelSignal(queued.id));
    assert.deepEqual(effectsOf(effects, "result"), [{ t: "result", id: queued.id, result: CANCELED }]);
    assert.deepEqual(effectsOf(effects, "invoke"), [], "it must not start");
    assert.equal(p.status(queued.id).status, "completed");
    assert.deepEqual(p.read((tx) => tx.listInbox()), []);
    assert.equal(p.journal(queued.id).length, 1, "only its input");
    // When the holder completes, nobody is left in line.
    assert.deepEqual(effectsOf(p.apply({ t: "end", id: holder.id, commandCount: 1 }), "invoke"), []);
  });

  it("a delayed invocation ends as canceled and its timer fires into nothing", () => {
    const delayed = request(service(), { executionTime: T0 + 60_000 });
    p.invoke(delayed);
    p.apply(cancelSignal(delayed.id));
    assert.deepEqual(p.status(delayed.id).result, CANCELED);
    assert.deepEqual(p.apply({ t: "timer-fired", key: `invoke:${delayed.id}` }), []);
  });

  it("a running invocation gets the signal as a notification, to run its compensation", () => {
    const req = request(service());
    p.invoke(req);
    const [n] = notified(p.apply(cancelSignal(req.id)), pb.SignalNotificationMessageSchema);
    assert.deepEqual([n?.signalId.case, n?.signalId.value], ["idx", CANCEL_SIGNAL]);
    assert.equal(p.status(req.id).status, "invoked");
  });

  it("a paused invocation journals the signal and runs again to handle it", () => {
    const req = request(service());
    p.invoke(req);
    p.apply({ t: "pause", id: req.id });
    const effects = p.apply(cancelSignal(req.id));
    assert.deepEqual(effects, [{ t: "invoke", id: req.id }]);
    assert.equal(p.status(req.id).status, "invoked");
    assert.equal(p.journal(req.id).at(-1)?.type, 0xfbff, "the signal is the last journal entry");
  });

  it("an operator's cancel of a paused invocation does the same", () => {
    const req = request(service());
    p.invoke(req);
    p.apply({ t: "pause", id: req.id });
    assert.deepEqual(p.apply({ t: "cancel", id: req.id }), [{ t: "invoke", id: req.id }]);
    assert.deepEqual(p.status(req.id).deliveredSignals, [CANCEL_SIGNAL]);
  });

  it("other signals for a paused invocation wait in its journal; it stays paused", () => {
    const req = request(service());
    p.invoke(req);
    p.apply({ t: "pause", id: req.id });
    const effects = p.apply({ t: "signal", target: req.id, signal: { idx: 17 }, result: { kind: "success", value: bytes("1") } });
    assert.deepEqual(effects, []);
    assert.equal(p.status(req.id).status, "paused");
    assert.deepEqual(p.status(req.id).deliveredSignals, [17]);
  });
});

describe("state machine: kill takes the call tree with it", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  function parentWithChildren(): { parent: InvocationId; called: InvocationId; sent: InvocationId } {
    const parent = request(service("delegate"));
    const called = nextId();
    const sent = nextId();
    p.invoke(parent);
    const call = { serviceName: "Greeter", handlerName: "greet", parameter: bytes("1"), invocationIdNotificationIdx: 1, resultCompletionId: 2 };
    p.command(parent.id, pb.CallCommandMessageSchema, call, callee(called));
    p.command(parent.id, pb.OneWayCallCommandMessageSchema, { serviceName: "Greeter", handlerName: "greet", parameter: bytes("2"), invocationIdNotificationIdx: 3 }, callee(sent));
    return { parent: parent.id, called, sent };
  }

  const kills = (p: TestPartition) => p.outbox().filter((m) => m.t === "kill");

  it("killing a running parent kills every invocation it called or sent to", () => {
    const { parent, called, sent } = parentWithChildren();
    const effects = p.apply({ t: "kill", id: parent });
    assert.deepEqual(effectsOf(effects, "result"), [{ t: "result", id: parent, result: KILLED }]);
    assert.deepEqual(kills(p), [
      { t: "kill", id: called },
      { t: "kill", id: sent },
    ]);
  });

  it("a suspended or paused parent's children are killed too", () => {
    const suspended = parentWithChildren();
    p.apply({ t: "suspend", id: suspended.parent, commandCount: 3, awaiting: { completions: [2], signals: [], namedSignals: [] } });
    const paused = parentWithChildren();
    p.apply({ t: "pause", id: paused.parent });
    p.apply({ t: "kill", id: suspended.parent });
    p.apply({ t: "kill", id: paused.parent });
    assert.deepEqual(
      kills(p).map((m) => m.t === "kill" && m.id),
      [suspended.called, suspended.sent, paused.called, paused.sent],
    );
  });

  it("the kill a child receives ends it; its result goes to the parent, which is gone", () => {
    const child = request(service(), { responseSink: { kind: "invocation", caller: nextId(), completionId: 2 } });
    p.invoke(child);
    p.apply({ t: "kill", id: child.id });
    assert.deepEqual(p.status(child.id).result, KILLED);
    assert.deepEqual(p.outbox().map((m) => m.t), ["invocation-response"]);
  });

  it("killing a completed invocation changes nothing and kills nobody", () => {
    const { parent } = parentWithChildren();
    p.apply({ t: "kill", id: parent });
    const before = p.outbox().length;
    assert.deepEqual(p.apply({ t: "kill", id: parent }), []);
    assert.equal(p.outbox().length, before);
  });
});
