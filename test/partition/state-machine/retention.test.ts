import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { T0, TestPartition, bytes, effectsOf, request, service, workflow } from "./harness.ts";

const HOUR = 3_600_000;

describe("state machine: journal, idempotency and workflow retention", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  /** Runs `req` to completion with an output at T0 + 10. */
  const complete = (req: ReturnType<typeof request>) => {
    p.invoke(req);
    p.command(req.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes('"ok"') } } });
    p.ts = T0 + 10;
    return p.apply({ t: "end", id: req.id, commandCount: 2 });
  };

  it("a journal retention shorter than the completion retention drops the journal first, keeping the status and result", () => {
    const req = request(service(), { idempotencyKey: "k", completionRetentionMs: 24 * HOUR, journalRetentionMs: HOUR });
    const effects = complete(req);
    const timers = effectsOf(effects, "timer").map((e) => e.timer);
    assert.deepEqual(timers, [
      { key: `cleanup:${req.id}`, fireAt: T0 + 10 + 24 * HOUR, kind: "cleanup", invocationId: req.id },
      { key: `journal-cleanup:${req.id}`, fireAt: T0 + 10 + HOUR, kind: "journal-cleanup", invocationId: req.id },
    ]);
    assert.equal(p.journal(req.id).length, 2);

    p.ts = T0 + 10 + HOUR;
    p.apply({ t: "timer-fired", key: `journal-cleanup:${req.id}` }, 1);
    const s = p.status(req.id);
    assert.equal(s.status, "completed");
    assert.equal(s.journalLength, 0, "the status says its journal is gone");
    assert.deepEqual(s.result, { kind: "success", value: bytes('"ok"') });
    assert.deepEqual(p.journal(req.id), []);
    assert.ok(p.read((tx) => tx.getIdempotency(`Greeter//greet/k`)), "the idempotency key stays with the status");

    p.ts = T0 + 10 + 24 * HOUR;
    p.apply({ t: "timer-fired", key: `cleanup:${req.id}` }, 1);
    assert.equal(p.maybeStatus(req.id), null);
    assert.equal(p.read((tx) => tx.getIdempotency(`Greeter//greet/k`)), null, "idempotency retention ends with the status");
    assert.deepEqual(p.read((tx) => tx.listTimers()), []);
  });

  it("a journal retention of 0 drops the journal at completion", () => {
    const req = request(workflow("w1"), { completionRetentionMs: HOUR, journalRetentionMs: 0 });
    const effects = complete(req);
    assert.deepEqual(effectsOf(effects, "timer").map((e) => e.timer.kind), ["cleanup"]);
    assert.equal(p.status(req.id).journalLength, 0);
    assert.deepEqual(p.journal(req.id), []);
  });

  it("without a shorter journal retention the journal goes with the status, as before", () => {
    const req = request(service(), { completionRetentionMs: HOUR });
    const effects = complete(req);
    assert.deepEqual(effectsOf(effects, "timer").map((e) => e.timer.kind), ["cleanup"]);
    p.apply({ t: "timer-fired", key: `cleanup:${req.id}` }, 1);
    assert.equal(p.maybeStatus(req.id), null);
    assert.deepEqual(p.journal(req.id), []);
  });

  it("a workflow's state and promises last as long as its completion retention, past its journal", () => {
    const req = request(workflow("w2"), { completionRetentionMs: 2 * HOUR, journalRetentionMs: HOUR });
    p.invoke(req);
    p.command(req.id, pb.SetStateCommandMessageSchema, { key: bytes("step"), value: { content: bytes("1") } });
    p.command(req.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes('"done"') } } });
    p.apply({ t: "end", id: req.id, commandCount: 3 });
    p.apply({ t: "timer-fired", key: `journal-cleanup:${req.id}` }, 1);
    assert.equal(p.read((tx) => tx.getStateKeys("Signup", "w2")).length, 1);
    p.apply({ t: "timer-fired", key: `cleanup:${req.id}` }, 1);
    assert.deepEqual(p.read((tx) => tx.getStateKeys("Signup", "w2")), []);
  });

  it("a purge removes both retention timers", () => {
    const req = request(service(), { idempotencyKey: "k", completionRetentionMs: 24 * HOUR, journalRetentionMs: HOUR });
    complete(req);
    p.apply({ t: "purge", id: req.id });
    assert.equal(p.maybeStatus(req.id), null);
    assert.deepEqual(p.read((tx) => tx.listTimers()), []);
  });

  it("purge-journal drops a completed invocation's journal and its cleanup timer, keeping status and result; a running one is left alone", () => {
    const req = request(service(), { idempotencyKey: "k", completionRetentionMs: 24 * HOUR, journalRetentionMs: HOUR });
    complete(req);
    assert.deepEqual(p.apply({ t: "purge-journal", id: req.id }), []);
    const s = p.status(req.id);
    assert.equal(s.journalLength, 0);
    assert.deepEqual(s.result, { kind: "success", value: bytes('"ok"') });
    assert.deepEqual(p.journal(req.id), []);
    assert.deepEqual(p.read((tx) => tx.listTimers()).map((t) => t.kind), ["cleanup"]);

    const running = request(service(), { completionRetentionMs: HOUR });
    p.invoke(running);
    p.apply({ t: "purge-journal", id: running.id });
    assert.equal(p.journal(running.id).length, 1);
    assert.equal(p.status(running.id).status, "invoked");
  });

  it("a journal-cleanup timer of an invocation that is gone or running again does nothing", () => {
    const req = request(service(), { idempotencyKey: "k", completionRetentionMs: 24 * HOUR, journalRetentionMs: HOUR });
    complete(req);
    p.apply({ t: "purge", id: req.id });
    p.invoke({ ...req, responseSink: { kind: "ingress", nodeId: 1 } });
    // A fire proposed for the first run's timer (the leader's queue had it) meets the new run.
    assert.deepEqual(p.apply({ t: "timer-fired", key: `journal-cleanup:${req.id}` }, 1), []);
    assert.equal(p.journal(req.id).length, 1);
    assert.equal(p.status(req.id).journalLength, 1);
  });

  it("a cleanup timer fired for an earlier use of a purged id leaves the id's new invocation alone", () => {
    const req = request(service(), { idempotencyKey: "k", completionRetentionMs: HOUR });
    complete(req);
    const stale = p.read((tx) => tx.getTimer(`cleanup:${req.id}`))!;
    p.apply({ t: "purge", id: req.id });
    p.ts = T0 + 100;
    complete({ ...req, completionRetentionMs: 24 * HOUR });
    const current = p.read((tx) => tx.getTimer(`cleanup:${req.id}`))!;
    assert.notEqual(current.fireAt, stale.fireAt);

    // The leader still held the first invocation's timer and fires it at its time.
    p.ts = stale.fireAt;
    assert.deepEqual(p.apply({ t: "timer-fired", key: stale.key, fireAt: stale.fireAt }, 1), []);
    assert.equal(p.status(req.id).status, "completed");
    assert.equal(p.journal(req.id).length, 2);
    assert.ok(p.read((tx) => tx.getIdempotency(`Greeter//greet/k`)), "the idempotency key stays");
    assert.deepEqual(p.read((tx) => tx.getTimer(current.key)), current, "the new invocation's timer is still set");

    p.ts = current.fireAt;
    p.apply({ t: "timer-fired", key: current.key, fireAt: current.fireAt }, 1);
    assert.equal(p.maybeStatus(req.id), null, "its own timer ends it");
  });

  it("a timer-fired record from before fireAt was recorded fires the timer under its key", () => {
    const req = request(service(), { completionRetentionMs: HOUR });
    complete(req);
    p.apply({ t: "timer-fired", key: `cleanup:${req.id}` }, 1);
    assert.equal(p.maybeStatus(req.id), null);
  });
});
