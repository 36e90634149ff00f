import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { MessageType } from "../../../src/protocol/message-type.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import type { AwaitingOn } from "../../../src/types/invocation.ts";
import { T0, TestPartition, decodeEntry, notified, request, service } from "./harness.ts";

const awaiting = (a: Partial<AwaitingOn>): AwaitingOn => ({ completions: [], signals: [], namedSignals: [], ...a });

describe("state machine: sleep, suspension and resumption", () => {
  let p: TestPartition;
  let id: InvocationId;
  beforeEach(() => {
    p = new TestPartition();
    id = request(service()).id;
    p.invoke({ ...request(service()), id });
  });
  afterEach(() => p.close());

  const sleep = (completionId: number, wakeUpTime: number) =>
    p.command(id, pb.SleepCommandMessageSchema, { wakeUpTime: BigInt(wakeUpTime), resultCompletionId: completionId });
  const suspend = (a: AwaitingOn) => p.apply({ t: "suspend", id, commandCount: p.status(id).commandCount, awaiting: a });

  it("a sleep sets a timer at the SDK's wake-up time; firing it journals the completion for the live attempt", () => {
    const timer = { key: `sleep:${id}:1`, fireAt: T0 + 500, kind: "sleep", invocationId: id, completionId: 1 };
    assert.deepEqual(sleep(1, T0 + 500), [{ t: "timer", timer }]);
    assert.deepEqual(p.read((tx) => tx.listTimers()), [timer]);

    p.ts = T0 + 500;
    const fired = p.apply({ t: "timer-fired", key: timer.key });
    assert.deepEqual(notified(fired, pb.SleepCompletionNotificationMessageSchema).map((n) => [n.completionId, n.void !== undefined]), [[1, true]]);
    const entry = p.journal(id).at(-1)!;
    assert.equal(entry.index, 2);
    assert.equal(entry.appendedAt, T0 + 500);
    decodeEntry(entry, pb.SleepCompletionNotificationMessageSchema);
    assert.deepEqual(p.read((tx) => tx.listTimers()), []);
    assert.equal(p.status(id).journalLength, 3);
    assert.equal(p.status(id).commandCount, 2, "notifications are not commands");
  });

  it("suspends on what the SDK awaits and resumes when it is delivered", () => {
    sleep(1, T0 + 500);
    assert.deepEqual(suspend(awaiting({ completions: [1] })), []);
    assert.equal(p.status(id).status, "suspended");
    assert.deepEqual(p.status(id).awaiting, awaiting({ completions: [1] }));

    const resumed = p.apply({ t: "timer-fired", key: `sleep:${id}:1` });
    assert.deepEqual(resumed, [{ t: "invoke", id }], "resumed, not notified: the new attempt replays the journal");
    const s = p.status(id);
    assert.equal(s.status, "invoked");
    assert.equal(s.awaiting, undefined);
    assert.deepEqual(s.deliveredCompletions, [1]);
  });

  it("a delivery the invocation does not await keeps it suspended", () => {
    sleep(1, T0 + 500);
    sleep(2, T0 + 900);
    suspend(awaiting({ completions: [2] }));
    assert.deepEqual(p.apply({ t: "timer-fired", key: `sleep:${id}:1` }), []);
    assert.equal(p.status(id).status, "suspended");
    assert.equal(p.journal(id).at(-1)?.type, MessageType.SleepCompletionNotification, "still journaled");
  });

  it("resumes at once when what it awaits arrived while it was suspending", () => {
    sleep(1, T0 + 500);
    p.apply({ t: "timer-fired", key: `sleep:${id}:1` });
    assert.deepEqual(suspend(awaiting({ completions: [1] })), [{ t: "invoke", id }]);
    assert.equal(p.status(id).status, "invoked");
  });

  it("resumes on an awaited named signal", () => {
    suspend(awaiting({ namedSignals: ["approve"] }));
    const effects = p.apply({ t: "signal", target: id, signal: { name: "approve" }, result: { kind: "void" } });
    assert.deepEqual(effects, [{ t: "invoke", id }]);
    assert.deepEqual(p.status(id).deliveredSignals, ["name:approve"]);
    assert.deepEqual(p.apply({ t: "signal", target: id, signal: { name: "approve" }, result: { kind: "void" } }), [], "delivered once");
    assert.equal(p.journal(id).length, 2);
  });

  it("an invocation that ends with sleeps pending drops their timers, and only theirs", () => {
    const other = request(service()).id;
    p.invoke({ ...request(service()), id: other });
    p.command(other, pb.SleepCommandMessageSchema, { wakeUpTime: BigInt(T0 + 700), resultCompletionId: 1 });
    sleep(1, T0 + 500);
    sleep(2, T0 + 900);
    p.apply({ t: "end", id, commandCount: p.status(id).commandCount });
    assert.equal(p.status(id).status, "completed");
    assert.deepEqual(p.read((tx) => tx.listTimers().map((t) => t.key)).sort(), [`cleanup:${id}`, `sleep:${other}:1`].sort());
  });

  it("ignores a suspension from a stale attempt", () => {
    assert.deepEqual(p.apply({ t: "suspend", id, commandCount: 7, awaiting: awaiting({ completions: [1] }) }), []);
    assert.equal(p.status(id).status, "invoked");
  });
});
