import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as pb from "../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { T0, TestPartition, request, service } from "../partition/state-machine/harness.ts";

/**
 * An idempotency key names the same invocation id again once the first invocation is purged. A
 * sleep the first one never woke from must not complete in the second (the e2e counterpart, with
 * the leader's timer queue, is in purged-id-reuse.test.ts).
 */
describe("a sleep pending when its invocation ends", () => {
  it("a sleep timer of a killed, purged invocation does not reach the id's new invocation", () => {
    const p = new TestPartition();
    const req = request(service(), { idempotencyKey: "k" });
    p.invoke(req);
    p.command(req.id, pb.SleepCommandMessageSchema, { wakeUpTime: BigInt(T0 + 1000), resultCompletionId: 1 });
    p.apply({ t: "kill", id: req.id });
    p.apply({ t: "purge", id: req.id });
    p.invoke({ ...req, responseSink: { kind: "ingress", nodeId: 1 } });
    const before = p.status(req.id).journalLength;
    p.ts = T0 + 1000;
    p.apply({ t: "timer-fired", key: `sleep:${req.id}:1`, fireAt: T0 + 1000 }, 1);
    assert.equal(p.status(req.id).journalLength, before, "the new invocation got the old one's sleep completion");
    p.close();
  });
});
