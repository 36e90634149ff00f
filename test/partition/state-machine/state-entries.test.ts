import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import * as pb from "../../../src/protocol/gen/dev/restate/service/protocol_pb.ts";
import { MessageType } from "../../../src/protocol/message-type.ts";
import type { InvocationId } from "../../../src/types/ids.ts";
import { T0, TestPartition, bytes, notified, object, request, text } from "./harness.ts";

describe("state machine: journal commands on state", () => {
  let p: TestPartition;
  let id: InvocationId;
  beforeEach(() => {
    p = new TestPartition();
    id = request(object("k")).id;
    p.invoke({ ...request(object("k")), id });
  });
  afterEach(() => p.close());

  const state = () => p.read((tx) => tx.getState("Counter", "k"));
  const lazyGet = (key: string, completionId: number) =>
    notified(p.command(id, pb.GetLazyStateCommandMessageSchema, { key: bytes(key), resultCompletionId: completionId }), pb.GetLazyStateCompletionNotificationMessageSchema);

  it("journals each command with its name and counts it", () => {
    p.ts = T0 + 5;
    p.command(id, pb.SetStateCommandMessageSchema, { key: bytes("n"), value: { content: bytes("1") }, name: "set n" });
    const [, entry] = p.journal(id);
    assert.deepEqual(entry, { index: 1, type: MessageType.SetStateCommand, appendedAt: T0 + 5, name: "set n", payload: entry!.payload });
    const s = p.status(id);
    assert.equal(s.journalLength, 2);
    assert.equal(s.commandCount, 2);
    assert.equal(s.modifiedAt, T0 + 5);
  });

  it("sets, reads, clears one key and clears all", () => {
    p.command(id, pb.SetStateCommandMessageSchema, { key: bytes("a"), value: { content: bytes("1") } });
    p.command(id, pb.SetStateCommandMessageSchema, { key: bytes("b"), value: { content: bytes("2") } });
    assert.deepEqual(state(), new Map([["a", bytes("1")], ["b", bytes("2")]]));

    const [hit] = lazyGet("a", 1);
    assert.equal(hit?.completionId, 1);
    assert.equal(hit?.result.case, "value");
    assert.equal(text((hit?.result.value as pb.Value).content), "1");

    const keys = notified(p.command(id, pb.GetLazyStateKeysCommandMessageSchema, { resultCompletionId: 2 }), pb.GetLazyStateKeysCompletionNotificationMessageSchema);
    assert.deepEqual(keys[0]?.stateKeys?.keys.map(text), ["a", "b"]);

    p.command(id, pb.ClearStateCommandMessageSchema, { key: bytes("a") });
    assert.deepEqual([...state().keys()], ["b"]);
    const [miss] = lazyGet("a", 3);
    assert.equal(miss?.result.case, "void");

    p.command(id, pb.ClearAllStateCommandMessageSchema, {});
    assert.deepEqual(state(), new Map());
    assert.deepEqual(p.status(id).deliveredCompletions, [1, 2, 3]);
  });

  it("eager state reads are only journaled", () => {
    const effects = p.command(id, pb.GetEagerStateCommandMessageSchema, { key: bytes("a"), result: { case: "void", value: {} } });
    assert.deepEqual(effects, []);
    assert.equal(p.journal(id).at(-1)?.type, MessageType.GetEagerStateCommand);
  });

  it("drops a command from an attempt that is no longer current", () => {
    const stale = { t: "journal-command" as const, id, msgType: MessageType.ClearAllStateCommand, payload: new Uint8Array() };
    p.command(id, pb.SetStateCommandMessageSchema, { key: bytes("a"), value: { content: bytes("1") } });
    assert.deepEqual(p.apply({ ...stale, commandIndex: 1 }), [], "index already taken");
    assert.deepEqual(p.apply({ ...stale, commandIndex: 5 }), [], "index ahead of the journal");
    assert.equal(p.journal(id).length, 2);
    assert.equal(state().size, 1);
  });

  it("journals a custom entry as opaque bytes, with no effect", () => {
    const payload = bytes("opaque");
    assert.deepEqual(p.apply({ t: "journal-command", id, commandIndex: 1, msgType: 0xfc01, payload }), []);
    const entry = p.journal(id)[1];
    assert.deepEqual(entry, { index: 1, type: 0xfc01, appendedAt: T0, payload });
    assert.equal(p.status(id).commandCount, 2);
  });
});
