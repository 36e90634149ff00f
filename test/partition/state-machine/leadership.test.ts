import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { LeaderEpoch } from "../../../src/types/ids.ts";
import { TestPartition, bytes, request, service } from "./harness.ts";

describe("state machine: leader epochs and the outbox", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  it("an announcement raises the epoch and is reported to the processor; a lower one never lowers it", () => {
    assert.deepEqual(p.apply({ t: "announce-leader", epoch: LeaderEpoch(3), nodeId: 1 }), [{ t: "leader", epoch: 3, nodeId: 1 }]);
    assert.equal(p.read((tx) => tx.leaderEpoch()), 3);
    p.apply({ t: "announce-leader", epoch: LeaderEpoch(2), nodeId: 2 });
    assert.equal(p.read((tx) => tx.leaderEpoch()), 3);
  });

  it("ignores records proposed under an older epoch, applies those of the current one", () => {
    p.apply({ t: "announce-leader", epoch: LeaderEpoch(3), nodeId: 1 });
    const req = request(service());
    p.invoke(req);
    const kill = { t: "kill", id: req.id } as const;

    assert.deepEqual(p.apply(kill, 2), []);
    assert.equal(p.status(req.id).status, "invoked", "the deposed leader's record changed nothing");
    const stale = p.apply({ t: "journal-command", id: req.id, commandIndex: 1, msgType: 0x0405, payload: new Uint8Array() }, 2);
    assert.deepEqual(stale, []);
    assert.equal(p.journal(req.id).length, 1);

    assert.notDeepEqual(p.apply(kill, 3), []);
    assert.equal(p.status(req.id).status, "completed");
  });

  it("a shipped outbox message is deleted; the others stay", () => {
    const req = request(service());
    p.invoke({ ...req, responseSink: { kind: "invocation", caller: request(service()).id, completionId: 1 } });
    p.command(req.id, pb.OutputCommandMessageSchema, { result: { case: "value", value: { content: bytes("1") } } });
    p.command(req.id, pb.SendSignalCommandMessageSchema, { targetInvocationId: req.id, signalId: { case: "idx", value: 20 }, result: { case: "void", value: {} } });
    const [first, second] = p.read((tx) => tx.listOutbox());
    assert.ok(first && second);
    p.apply({ t: "outbox-shipped", seq: first.seq });
    assert.deepEqual(p.read((tx) => tx.listOutbox()).map((e) => e.seq), [second.seq]);
  });
});
