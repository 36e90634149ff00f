import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { DEFAULT_COMPLETION_RETENTION_MS } from "../../../src/partition/state-machine/index.ts";
import { idempotentInvocationId } from "../../../src/partition/routing.ts";
import type { ResponseSink } from "../../../src/types/invocation.ts";
import { T0, TestPartition, bytes, decodeEntry, effectsOf, nextId, request, service, text } from "./harness.ts";

describe("state machine: invoke", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  it("journals the input of a new invocation and starts it", () => {
    const req = request(service(), { headers: [{ key: "x-trace", value: "t1" }], invokedBy: nextId() });
    const effects = p.invoke(req);

    assert.deepEqual(effects, [{ t: "invoke", id: req.id }]);
    const s = p.status(req.id);
    assert.equal(s.status, "invoked");
    assert.equal(s.journalLength, 1);
    assert.equal(s.commandCount, 1);
    assert.equal(s.createdAt, T0);
    assert.equal(s.runningAt, T0);
    assert.equal(s.invokedBy, req.invokedBy);
    assert.equal(s.randomSeed, "42");
    assert.equal(s.completionRetentionMs, DEFAULT_COMPLETION_RETENTION_MS);
    assert.deepEqual(s.responseSinks, [{ kind: "ingress", nodeId: 1 }]);
    const [input, ...rest] = p.journal(req.id);
    assert.equal(rest.length, 0);
    const m = decodeEntry(input!, pb.InputCommandMessageSchema);
    assert.equal(text(m.value!.content), '"Ada"');
    assert.deepEqual(
      m.headers.map((h) => [h.key, h.value]),
      [["x-trace", "t1"]],
    );
  });

  it("never runs the same id twice: a second request adds its response sink once", () => {
    const req = request(service());
    p.invoke(req);
    const caller: ResponseSink = { kind: "invocation", caller: nextId(), completionId: 3 };

    assert.deepEqual(p.invoke({ ...req, responseSink: caller }), []);
    assert.deepEqual(p.invoke({ ...req, responseSink: caller }), [], "a re-shipped outbox message changes nothing");
    assert.deepEqual(p.status(req.id).responseSinks, [{ kind: "ingress", nodeId: 1 }, caller]);
    assert.equal(p.journal(req.id).length, 1);
  });

  it("answers a request for a completed invocation's id at once with its result", () => {
    const req = request(service());
    p.invoke(req);
    p.command(req.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("done") } } });
    p.apply({ t: "end", id: req.id, commandCount: 2 });

    const effects = p.invoke({ ...req, responseSink: { kind: "ingress", nodeId: 2 } });
    assert.deepEqual(effects, [{ t: "result", id: req.id, result: { kind: "success", value: bytes("done") } }]);
    assert.equal(p.status(req.id).status, "completed");
  });

  it("dedups by idempotency key: the duplicate attaches to the running invocation; purge drops the key", () => {
    const target = service();
    const id = idempotentInvocationId(target.service, "", target.handler, "order-1");
    const first = request(target, { id, idempotencyKey: "order-1" });
    p.invoke(first);
    const scope = "Greeter//greet/order-1";
    assert.deepEqual(p.read((tx) => tx.getIdempotency(scope)), { invocationId: id });
    assert.equal(p.status(id).idempotencyKey, "order-1");

    // The same key from another invocation's call: it waits for the same result.
    const caller: ResponseSink = { kind: "invocation", caller: nextId(), completionId: 5 };
    const again = p.invoke({ ...first, responseSink: caller });
    assert.deepEqual(effectsOf(again, "invoke"), [], "not started a second time");
    // Ingress waiters are woken on every node by the one result effect: one ingress sink suffices.
    p.invoke({ ...first, responseSink: { kind: "ingress", nodeId: 2 } });
    assert.deepEqual(p.status(id).responseSinks, [{ kind: "ingress", nodeId: 1 }, caller]);

    p.command(id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("ok") } } });
    p.apply({ t: "end", id, commandCount: 2 });
    assert.deepEqual(p.outbox(), [{ t: "invocation-response", target: caller.caller, completionId: 5, result: { kind: "success", value: bytes("ok") } }]);
    p.apply({ t: "purge", id });
    assert.equal(p.read((tx) => tx.getIdempotency(scope)), null);
    assert.equal(p.maybeStatus(id), null);
  });

  it("a delayed invocation waits for its timer, then starts", () => {
    const req = request(service(), { executionTime: T0 + 60_000 });
    const effects = p.invoke(req);

    const timer = { key: `invoke:${req.id}`, fireAt: T0 + 60_000, kind: "delayed-invoke", invocationId: req.id };
    assert.deepEqual(effects, [{ t: "timer", timer }]);
    const s = p.status(req.id);
    assert.equal(s.status, "scheduled");
    assert.equal(s.scheduledAt, T0);
    assert.equal(s.executionTime, T0 + 60_000);
    assert.deepEqual(p.read((tx) => tx.listTimers()), [timer]);

    p.ts = T0 + 60_000;
    assert.deepEqual(p.apply({ t: "timer-fired", key: timer.key }), [{ t: "invoke", id: req.id }]);
    assert.equal(p.status(req.id).status, "invoked");
    assert.equal(p.status(req.id).runningAt, T0 + 60_000);
    assert.deepEqual(p.read((tx) => tx.listTimers()), []);
    assert.deepEqual(p.apply({ t: "timer-fired", key: timer.key }), [], "a timer fired twice is applied once");
  });

  it("an execution time already past starts the invocation now", () => {
    const req = request(service(), { executionTime: T0 - 1 });
    assert.deepEqual(p.invoke(req), [{ t: "invoke", id: req.id }]);
    assert.equal(p.status(req.id).scheduledAt, undefined);
  });
});
