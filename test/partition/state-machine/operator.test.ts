import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { CANCEL_SIGNAL } from "../../../src/types/invocation.ts";
import { T0, TestPartition, bytes, effectsOf, notified, object, request, service } from "./harness.ts";

const CANCELED = { kind: "failure", code: 409, message: "canceled" } as const;
const KILLED = { kind: "failure", code: 409, message: "killed" } as const;

describe("state machine: cancel, kill and purge", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  it("cancelling a running invocation sends it the cancel signal; it stays running to clean up", () => {
    const req = request(service());
    p.invoke(req);
    const effects = p.apply({ t: "cancel", id: req.id });
    const [signal] = notified(effects, pb.SignalNotificationMessageSchema);
    assert.deepEqual([signal?.signalId.case, signal?.signalId.value, signal?.result.case], ["idx", CANCEL_SIGNAL, "void"]);
    assert.equal(p.status(req.id).status, "invoked");
    assert.deepEqual(p.status(req.id).deliveredSignals, [CANCEL_SIGNAL]);
  });

  it("cancelling a suspended invocation resumes it when it awaits cancellation", () => {
    const req = request(service());
    p.invoke(req);
    p.apply({ t: "suspend", id: req.id, commandCount: 1, awaiting: { completions: [5], signals: [CANCEL_SIGNAL], namedSignals: [] } });
    assert.deepEqual(p.apply({ t: "cancel", id: req.id }), [{ t: "invoke", id: req.id }]);
  });

  it("cancelling a queued invocation completes it as canceled and takes it out of the inbox", () => {
    const holder = request(object("k"));
    const queued = request(object("k"), { responseSink: { kind: "ingress", nodeId: 1 } });
    p.invoke(holder);
    p.invoke(queued);
    const effects = p.apply({ t: "cancel", id: queued.id });
    assert.deepEqual(effectsOf(effects, "result"), [{ t: "result", id: queued.id, result: CANCELED }]);
    assert.deepEqual(p.status(queued.id).result, CANCELED);
    assert.deepEqual(p.read((tx) => tx.listInbox()), []);
    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), holder.id, "the holder keeps its key");
  });

  it("cancelling a delayed invocation drops its timer", () => {
    const req = request(service(), { executionTime: T0 + 60_000 });
    p.invoke(req);
    p.apply({ t: "cancel", id: req.id });
    assert.deepEqual(p.status(req.id).result, CANCELED);
    assert.deepEqual(p.read((tx) => tx.listTimers()).map((t) => t.kind), ["cleanup"]);
    assert.deepEqual(p.apply({ t: "timer-fired", key: `invoke:${req.id}` }), []);
  });

  it("killing a running invocation ends it now and frees its key", () => {
    const holder = request(object("k"));
    const next = request(object("k"));
    p.invoke(holder);
    p.invoke(next);
    const effects = p.apply({ t: "kill", id: holder.id });
    assert.deepEqual(effectsOf(effects, "result"), [{ t: "result", id: holder.id, result: KILLED }]);
    assert.deepEqual(effectsOf(effects, "abort"), [{ t: "abort", id: holder.id }]);
    assert.deepEqual(effectsOf(effects, "invoke"), [{ t: "invoke", id: next.id }]);
    assert.equal(p.status(holder.id).status, "completed");
    assert.deepEqual(p.apply({ t: "cancel", id: holder.id }), [], "a completed invocation cannot be cancelled");
    assert.equal(p.journal(holder.id).length, 1, "nothing journaled after completion");
  });

  it("purge drops a completed invocation's status and journal, and leaves a running one alone", () => {
    const req = request(service());
    p.invoke(req);
    assert.deepEqual(p.apply({ t: "purge", id: req.id }), []);
    assert.equal(p.status(req.id).status, "invoked");

    p.command(req.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("1") } } });
    p.apply({ t: "end", id: req.id, commandCount: 2 });
    p.apply({ t: "purge", id: req.id });
    assert.equal(p.maybeStatus(req.id), null);
    assert.deepEqual(p.journal(req.id), []);
    assert.deepEqual(p.read((tx) => tx.listTimers()), [], "its cleanup timer goes with it");
  });

  it("the cleanup timer forgets a completed invocation when its retention is up", () => {
    const req = request(service(), { completionRetentionMs: 0 });
    p.invoke(req);
    p.apply({ t: "end", id: req.id, commandCount: 1 });
    p.apply({ t: "timer-fired", key: `cleanup:${req.id}` });
    assert.equal(p.maybeStatus(req.id), null);
    assert.deepEqual(p.journal(req.id), []);
  });
});
