import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { DEFAULT_COMPLETION_RETENTION_MS } from "../../../src/partition/state-machine/index.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { messageTypeOf } from "../../../src/protocol/message-type.ts";
import { T0, TestPartition, bytes, effectsOf, nextId, request, service } from "./harness.ts";

describe("state machine: output, end and failure", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  it("an output answers every caller at once; the end completes the invocation", () => {
    const caller = nextId();
    const req = request(service());
    p.invoke(req);
    p.invoke({ ...req, responseSink: { kind: "invocation", caller, completionId: 9 } });

    const success = { kind: "success" as const, value: bytes('"Hello"') };
    const out = p.command(req.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes('"Hello"') } } });
    assert.deepEqual(effectsOf(out, "result"), [{ t: "result", id: req.id, result: success }]);
    assert.deepEqual(p.outbox(), [{ t: "invocation-response", target: caller, completionId: 9, result: success }]);
    assert.deepEqual(p.status(req.id).result, success);
    assert.equal(p.status(req.id).status, "invoked", "the attempt still runs until it ends");

    p.ts = T0 + 10;
    const end = p.apply({ t: "end", id: req.id, commandCount: 2 });
    const cleanup = { key: `cleanup:${req.id}`, fireAt: T0 + 10 + DEFAULT_COMPLETION_RETENTION_MS, kind: "cleanup", invocationId: req.id };
    assert.deepEqual(end, [{ t: "abort", id: req.id }, { t: "timer", timer: cleanup }]);
    const s = p.status(req.id);
    assert.equal(s.status, "completed");
    assert.equal(s.completedAt, T0 + 10);
    assert.deepEqual(p.read((tx) => tx.listTimers()), [cleanup]);
  });

  it("an attempt's steps in one record (a run, its result, the output, the end) apply as the same records one by one", () => {
    const separate = new TestPartition();
    try {
      const req = request(service());
      const run = { t: "journal-command", id: req.id, commandIndex: 1, msgType: messageTypeOf(pb.RunCommandMessageSchema), payload: toBinary(pb.RunCommandMessageSchema, create(pb.RunCommandMessageSchema, { resultCompletionId: 1, name: "step" })) } as const;
      const result = { t: "run-completion", id: req.id, completionId: 1, result: { kind: "success", value: bytes("1") } } as const;
      const output = { t: "journal-command", id: req.id, commandIndex: 2, msgType: messageTypeOf(pb.OutputCommandMessageSchema), payload: toBinary(pb.OutputCommandMessageSchema, create(pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes('"done"') } } })) } as const;
      const end = { t: "end", id: req.id, commandCount: 3 } as const;
      p.invoke(req);
      separate.invoke(req);
      const together = p.apply({ t: "attempt-steps", steps: [run, result, output, end] });
      const oneByOne = [run, result, output, end].flatMap((c) => separate.apply(c));
      assert.deepEqual(together, oneByOne);
      assert.equal(p.status(req.id).status, "completed");
      assert.deepEqual(p.status(req.id), separate.status(req.id));
      assert.deepEqual(p.journal(req.id), separate.journal(req.id));
      assert.equal(p.journal(req.id).length, 4, "input, run, its completion, output");
    } finally {
      separate.close();
    }
  });

  it("an end without an output completes with a failure", () => {
    const req = request(service());
    p.invoke(req);
    p.apply({ t: "end", id: req.id, commandCount: 1 });
    assert.deepEqual(p.status(req.id).result, { kind: "failure", code: 500, message: "invocation ended without output" });
  });

  it("an end from a stale attempt is ignored", () => {
    const req = request(service());
    p.invoke(req);
    p.command(req.id, pb.SetStateCommandMessageSchema, { key: bytes("a"), value: { content: bytes("1") } });
    assert.deepEqual(p.apply({ t: "end", id: req.id, commandCount: 1 }), []);
    assert.equal(p.status(req.id).status, "invoked");
  });

  it("a terminal failure from the invoker completes the invocation and answers its callers", () => {
    const req = request(service());
    p.invoke(req);
    const effects = p.apply({ t: "fail", id: req.id, code: 404, message: "service not found" });
    const failure = { kind: "failure" as const, code: 404, message: "service not found" };
    assert.deepEqual(effectsOf(effects, "result"), [{ t: "result", id: req.id, result: failure }]);
    assert.deepEqual(effectsOf(effects, "abort"), [{ t: "abort", id: req.id }]);
    assert.deepEqual(p.status(req.id).result, failure);
    assert.deepEqual(p.apply({ t: "fail", id: req.id, code: 500, message: "again" }), [], "a completed invocation stays as it is");
  });
});
