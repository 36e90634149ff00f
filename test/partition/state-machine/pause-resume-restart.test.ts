import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import { TestPartition, bytes, effectsOf, nextId, object, request, service, workflow } from "./harness.ts";

describe("state machine: pause and resume", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  it("a paused invocation stops its attempt, keeps its key, and ignores what a stale attempt still sends", () => {
    const holder = request(object("k"));
    const next = request(object("k"));
    p.invoke(holder);
    p.invoke(next);
    assert.deepEqual(p.apply({ t: "pause", id: holder.id }), [{ t: "abort", id: holder.id }]);
    assert.equal(p.status(holder.id).status, "paused");
    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), holder.id);
    assert.equal(p.status(next.id).status, "inboxed");
    assert.deepEqual(p.command(holder.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("1") } } }), []);
    assert.deepEqual(p.apply({ t: "end", id: holder.id, commandCount: 1 }), []);
    assert.equal(p.status(holder.id).status, "paused");
  });

  it("a suspended invocation can be paused; what it awaited is forgotten and a completion does not wake it", () => {
    const req = request(service());
    p.invoke(req);
    p.command(req.id, pb.SleepCommandMessageSchema, { wakeUpTime: 1n, resultCompletionId: 1 });
    p.apply({ t: "suspend", id: req.id, commandCount: 2, awaiting: { completions: [1], signals: [], namedSignals: [] } });
    p.apply({ t: "pause", id: req.id });
    assert.equal(p.status(req.id).awaiting, undefined);
    assert.deepEqual(p.apply({ t: "timer-fired", key: `sleep:${req.id}:1` }), []);
    assert.equal(p.status(req.id).status, "paused");
    assert.deepEqual(p.status(req.id).deliveredCompletions, [1], "the completion is journaled for the next attempt");
  });

  it("pausing what is not running changes nothing", () => {
    const holder = request(object("k"));
    const queued = request(object("k"));
    p.invoke(holder);
    p.invoke(queued);
    assert.deepEqual(p.apply({ t: "pause", id: queued.id }), []);
    assert.equal(p.status(queued.id).status, "inboxed");
  });

  it("resume runs a paused invocation again, optionally moving its pin to another deployment", () => {
    const req = request(service());
    p.invoke(req);
    p.apply({ t: "pin-deployment", id: req.id, deploymentId: "dp_a", protocolVersion: 7 });
    p.apply({ t: "pause", id: req.id });
    assert.deepEqual(p.apply({ t: "resume", id: req.id, deploymentId: "dp_b" }), [{ t: "invoke", id: req.id }]);
    assert.equal(p.status(req.id).status, "invoked");
    assert.deepEqual(p.status(req.id).pinnedDeployment, { deploymentId: "dp_b", protocolVersion: 7 });
  });

  it("resume of a running invocation asks the invoker to retry now; of a completed one does nothing", () => {
    const req = request(service());
    p.invoke(req);
    assert.deepEqual(p.apply({ t: "resume", id: req.id }), [{ t: "invoke", id: req.id }]);
    p.apply({ t: "end", id: req.id, commandCount: 1 });
    assert.deepEqual(p.apply({ t: "resume", id: req.id }), []);
  });
});

describe("state machine: restart as new", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  /** Input, run (completed), sleep (completed after the output), output: 6 entries. */
  function completedWithJournal(): InvocationId {
    const req = request(service(), { headers: [{ key: "h", value: "v" }] });
    p.invoke(req);
    p.apply({ t: "pin-deployment", id: req.id, deploymentId: "dp_a", protocolVersion: 7 });
    p.command(req.id, pb.RunCommandMessageSchema, { resultCompletionId: 1, name: "step" });
    p.apply({ t: "run-completion", id: req.id, completionId: 1, result: { kind: "success", value: bytes("r") } });
    p.command(req.id, pb.SleepCommandMessageSchema, { wakeUpTime: 1n, resultCompletionId: 2 });
    p.command(req.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("1") } } });
    p.apply({ t: "timer-fired", key: `sleep:${req.id}:2` });
    p.apply({ t: "end", id: req.id, commandCount: 4 });
    return req.id;
  }

  it("from 0 starts the target again with only the input and the new seed", () => {
    const old = completedWithJournal();
    const newId = nextId();
    const effects = p.apply({ t: "restart-as-new", id: old, newId, from: 0, randomSeed: "99" });
    assert.deepEqual(effectsOf(effects, "invoke"), [{ t: "invoke", id: newId }]);
    const s = p.status(newId);
    assert.deepEqual([s.status, s.restartedFrom, s.randomSeed, s.journalLength, s.commandCount], ["invoked", old, "99", 1, 1]);
    assert.deepEqual(s.headers, [{ key: "h", value: "v" }]);
    assert.deepEqual(p.journal(newId).map((e) => e.payload), [p.journal(old)[0].payload]);
  });

  it("from a prefix copies it with the completions of its commands, found later in the journal", () => {
    const old = completedWithJournal();
    const newId = nextId();
    // Entries: 0 input, 1 run, 2 run completion, 3 sleep, 4 output, 5 sleep completion.
    p.apply({ t: "restart-as-new", id: old, newId, from: 3, randomSeed: "42", deploymentId: "dp_b" });
    const journal = p.journal(newId);
    assert.deepEqual(journal.map((e) => e.index), [0, 1, 2, 3, 4]);
    assert.deepEqual(journal.map((e) => e.type), [0x0400, 0x0411, 0x8011, 0x040c, 0x800c]);
    const s = p.status(newId);
    assert.deepEqual([s.commandCount, s.deliveredCompletions, s.pinnedDeployment], [3, [1, 2], { deploymentId: "dp_b", protocolVersion: 7 }]);
    assert.equal(p.status(old).status, "completed", "the old invocation stays as it was");
  });

  it("a prefix whose command never got its completion, a running or workflow invocation, or an index past the end are not restarted", () => {
    const running = request(service());
    p.invoke(running);
    p.command(running.id, pb.SleepCommandMessageSchema, { wakeUpTime: 1n, resultCompletionId: 1 });
    const newId = nextId();
    assert.deepEqual(p.apply({ t: "restart-as-new", id: running.id, newId, from: 0, randomSeed: "1" }), []);
    p.apply({ t: "kill", id: running.id });
    assert.deepEqual(p.apply({ t: "restart-as-new", id: running.id, newId, from: 1, randomSeed: "1" }), [], "the sleep never completed");
    assert.deepEqual(p.apply({ t: "restart-as-new", id: running.id, newId, from: 5, randomSeed: "1" }), []);
    const wf = request(workflow("w"));
    p.invoke(wf);
    p.apply({ t: "end", id: wf.id, commandCount: 1 });
    assert.deepEqual(p.apply({ t: "restart-as-new", id: wf.id, newId, from: 0, randomSeed: "1" }), []);
    assert.equal(p.maybeStatus(newId), null);
  });

  it("a restarted keyed invocation queues behind its key's holder", () => {
    const first = request(object("k"));
    p.invoke(first);
    p.apply({ t: "end", id: first.id, commandCount: 1 });
    const holder = request(object("k"));
    p.invoke(holder);
    const newId = nextId();
    assert.deepEqual(p.apply({ t: "restart-as-new", id: first.id, newId, from: 0, randomSeed: "1" }), []);
    assert.equal(p.status(newId).status, "inboxed");
    assert.deepEqual(effectsOf(p.apply({ t: "end", id: holder.id, commandCount: 1 }), "invoke"), [{ t: "invoke", id: newId }]);
    assert.equal(p.status(newId).status, "invoked");
  });
});
