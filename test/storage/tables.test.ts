import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { LeaderEpoch, Lsn } from "../../src/types/ids.ts";
import { CorruptionError } from "../../src/types/errors.ts";
import type { PromiseEntry, TimerEntry } from "../../src/storage/partition-store.ts";
import { fileStore, invocation, invocationId } from "./fixtures.ts";

const bytes = (text: string) => Buffer.from(text);

describe("partition store tables, each written and read back through a SQLite file", () => {
  it("fsm: applied LSN, leader epoch and counters start at 0 and keep what was written", (t) => {
    const store = fileStore(t);
    assert.deepEqual(
      store.read((tx) => [tx.appliedLsn(), tx.leaderEpoch(), tx.counter("inbox")]),
      [0, 0, 0],
    );
    const handedOut = store.write((tx) => {
      tx.setAppliedLsn(Lsn(12));
      tx.setLeaderEpoch(LeaderEpoch(3));
      return [tx.nextCounter("inbox"), tx.nextCounter("inbox"), tx.nextCounter("outbox")];
    });
    assert.deepEqual(handedOut, [0, 1, 0]);
    assert.deepEqual(
      store.read((tx) => [tx.appliedLsn(), tx.leaderEpoch(), tx.counter("inbox"), tx.counter("outbox"), tx.counter("other")]),
      [12, 3, 2, 1, 0],
    );
  });

  it("invocation status: get, list in id order, list by status, overwrite, delete", (t) => {
    const store = fileStore(t);
    const [a, b] = [invocationId(), invocationId()].sort();
    store.write((tx) => {
      tx.putInvocation(invocation(b, "invoked"));
      tx.putInvocation(invocation(a, "inboxed"));
    });
    store.read((tx) => {
      assert.deepEqual(tx.getInvocation(a), invocation(a, "inboxed"));
      assert.deepEqual(tx.listInvocations().map((s) => s.id), [a, b]);
      assert.deepEqual(tx.listInvocations("invoked").map((s) => s.id), [b]);
      assert.equal(tx.getInvocation(invocationId()), null);
    });
    // The status column is rewritten with the body, so listing by status follows the change.
    store.write((tx) => tx.putInvocation(invocation(a, "invoked")));
    assert.deepEqual(store.read((tx) => tx.listInvocations("invoked").map((s) => s.id)), [a, b]);
    assert.deepEqual(store.read((tx) => tx.listInvocations("inboxed")), []);
    store.write((tx) => tx.deleteInvocation(a));
    assert.equal(store.read((tx) => tx.getInvocation(a)), null);
    assert.deepEqual(store.read((tx) => tx.listInvocations().map((s) => s.id)), [b]);
  });

  it("journal: entries in index order from an index, per invocation, deleted together", (t) => {
    const store = fileStore(t);
    const [id, other] = [invocationId(), invocationId()];
    // A view into a larger buffer: only its own bytes may be stored.
    const windowed = new Uint8Array([9, 1, 2, 9]).subarray(1, 3);
    store.write((tx) => {
      tx.appendJournal(id, { index: 1, type: 0x0401, payload: windowed, appendedAt: 20, name: "step" });
      tx.appendJournal(id, { index: 0, type: 0x0400, payload: bytes("in"), appendedAt: 10 });
      tx.appendJournal(other, { index: 0, type: 0x0400, payload: bytes("x"), appendedAt: 30 });
    });
    assert.deepEqual(
      store.read((tx) => tx.getJournal(id)),
      [
        { index: 0, type: 0x0400, payload: bytes("in"), appendedAt: 10 },
        { index: 1, type: 0x0401, payload: Buffer.from([1, 2]), appendedAt: 20, name: "step" },
      ],
    );
    assert.deepEqual(store.read((tx) => tx.getJournal(id, 1).map((e) => e.index)), [1]);
    store.write((tx) => tx.deleteJournal(id));
    assert.deepEqual(store.read((tx) => tx.getJournal(id)), []);
    assert.equal(store.read((tx) => tx.getJournal(other)).length, 1);
  });

  it("state: per (service, key) values, overwrite, clear one, clear all, whole-table listing", (t) => {
    const store = fileStore(t);
    store.write((tx) => {
      tx.setStateValue("Counter", "k1", "b", bytes("2"));
      tx.setStateValue("Counter", "k1", "a", bytes("1"));
      tx.setStateValue("Counter", "k2", "a", bytes("other"));
      tx.setStateValue("Counter", "k1", "b", bytes("22"));
    });
    store.read((tx) => {
      assert.deepEqual(tx.getState("Counter", "k1"), new Map([["a", bytes("1")], ["b", bytes("22")]]));
      assert.deepEqual(tx.getStateValue("Counter", "k2", "a"), bytes("other"));
      assert.equal(tx.getStateValue("Counter", "k2", "b"), null);
      assert.deepEqual(tx.getStateKeys("Counter", "k1"), ["a", "b"]);
      assert.deepEqual(
        tx.listState().map((s) => [s.service, s.key, s.stateKey, s.value.toString()]),
        [["Counter", "k1", "a", "1"], ["Counter", "k1", "b", "22"], ["Counter", "k2", "a", "other"]],
      );
    });
    store.write((tx) => tx.clearStateValue("Counter", "k1", "a"));
    assert.deepEqual(store.read((tx) => tx.getStateKeys("Counter", "k1")), ["b"]);
    store.write((tx) => tx.clearAllState("Counter", "k1"));
    assert.deepEqual(store.read((tx) => tx.getState("Counter", "k1")), new Map());
    assert.deepEqual(store.read((tx) => tx.getStateKeys("Counter", "k2")), ["a"]);
  });

  it("key lock: held by one invocation per (service, key), handed over, released with null", (t) => {
    const store = fileStore(t);
    const [a, b] = [invocationId(), invocationId()];
    store.write((tx) => {
      tx.setKeyLock("Counter", "k2", b);
      tx.setKeyLock("Counter", "k1", a);
    });
    assert.equal(store.read((tx) => tx.getKeyLock("Counter", "k1")), a);
    assert.deepEqual(store.read((tx) => tx.listKeyLocks()), [
      { service: "Counter", key: "k1", invocationId: a },
      { service: "Counter", key: "k2", invocationId: b },
    ]);
    store.write((tx) => tx.setKeyLock("Counter", "k1", b));
    assert.equal(store.read((tx) => tx.getKeyLock("Counter", "k1")), b);
    store.write((tx) => tx.setKeyLock("Counter", "k1", null));
    assert.equal(store.read((tx) => tx.getKeyLock("Counter", "k1")), null);
    assert.equal(store.read((tx) => tx.listKeyLocks()).length, 1);
  });

  it("inbox: peek gives the lowest sequence number of the key, pop removes it", (t) => {
    const store = fileStore(t);
    const [a, b, c] = [invocationId(), invocationId(), invocationId()];
    store.write((tx) => {
      tx.pushInbox("Counter", "k1", b, 5);
      tx.pushInbox("Counter", "k1", a, 4);
      tx.pushInbox("Counter", "k2", c, 1);
    });
    assert.deepEqual(store.read((tx) => tx.peekInbox("Counter", "k1")), { seq: 4, invocationId: a });
    assert.deepEqual(store.read((tx) => tx.listInbox()), [
      { service: "Counter", key: "k1", seq: 4, invocationId: a },
      { service: "Counter", key: "k1", seq: 5, invocationId: b },
      { service: "Counter", key: "k2", seq: 1, invocationId: c },
    ]);
    store.write((tx) => tx.popInbox("Counter", "k1", 4));
    assert.deepEqual(store.read((tx) => tx.peekInbox("Counter", "k1")), { seq: 5, invocationId: b });
    store.write((tx) => tx.popInbox("Counter", "k1", 5));
    assert.equal(store.read((tx) => tx.peekInbox("Counter", "k1")), null);
  });

  it("timers: ordered by fire time then key, due before a time, replaced by key, deleted", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    const timer = (key: string, fireAt: number): TimerEntry => ({ key, fireAt, kind: "sleep", invocationId: id, completionId: 1 });
    store.write((tx) => {
      tx.putTimer(timer("c", 30));
      tx.putTimer(timer("b", 10));
      tx.putTimer(timer("a", 10));
    });
    assert.deepEqual(store.read((tx) => tx.listTimers().map((x) => x.key)), ["a", "b", "c"]);
    assert.deepEqual(store.read((tx) => tx.listTimersDueBefore(10).map((x) => x.key)), ["a", "b"]);
    assert.deepEqual(store.read((tx) => tx.getTimer("c")), timer("c", 30));
    store.write((tx) => tx.putTimer(timer("c", 5)));
    assert.deepEqual(store.read((tx) => tx.listTimers().map((x) => x.key)), ["c", "a", "b"]);
    store.write((tx) => tx.deleteTimer("c"));
    assert.equal(store.read((tx) => tx.getTimer("c")), null);
    assert.equal(store.read((tx) => tx.listTimers()).length, 2);
  });

  it("timers: deleted by key prefix, and only those whose key starts with it", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    const keys = ["sleep:a:", "sleep:a:1", "sleep:a:12", "sleep:a;", "sleep:a", "sleep:ab:1", "sleep:b:1"];
    store.write((tx) => keys.forEach((key, i) => tx.putTimer({ key, fireAt: i, kind: "sleep", invocationId: id, completionId: 1 })));
    store.write((tx) => tx.deleteTimersWithKeyPrefix("sleep:a:"));
    assert.deepEqual(store.read((tx) => tx.listTimers().map((x) => x.key)), ["sleep:a;", "sleep:a", "sleep:ab:1", "sleep:b:1"]);
  });

  it("outbox: messages in sequence order until deleted", (t) => {
    const store = fileStore(t);
    store.write((tx) => {
      tx.putOutbox({ seq: 2, message: bytes("second") });
      tx.putOutbox({ seq: 1, message: bytes("first") });
    });
    assert.deepEqual(store.read((tx) => tx.listOutbox()), [
      { seq: 1, message: bytes("first") },
      { seq: 2, message: bytes("second") },
    ]);
    store.write((tx) => tx.deleteOutbox(1));
    assert.deepEqual(store.read((tx) => tx.listOutbox().map((e) => e.seq)), [2]);
  });

  it("idempotency: scope to invocation, replaced and deleted", (t) => {
    const store = fileStore(t);
    const [a, b] = [invocationId(), invocationId()];
    store.write((tx) => tx.putIdempotency("Counter/k1/add/key-1", { invocationId: a }));
    assert.deepEqual(store.read((tx) => tx.getIdempotency("Counter/k1/add/key-1")), { invocationId: a });
    assert.equal(store.read((tx) => tx.getIdempotency("Counter/k1/add/key-2")), null);
    store.write((tx) => tx.putIdempotency("Counter/k1/add/key-1", { invocationId: b }));
    assert.deepEqual(store.read((tx) => tx.getIdempotency("Counter/k1/add/key-1")), { invocationId: b });
    store.write((tx) => tx.deleteIdempotency("Counter/k1/add/key-1"));
    assert.equal(store.read((tx) => tx.getIdempotency("Counter/k1/add/key-1")), null);
  });

  it("promise: by name per (service, key), replaced, listed, cleared per key", (t) => {
    const store = fileStore(t);
    const waiter = invocationId();
    const pending: PromiseEntry = { state: "pending", waiters: [{ invocationId: waiter, completionId: 3 }] };
    const resolved: PromiseEntry = { state: "resolved", value: bytes("link"), waiters: [] };
    const rejected: PromiseEntry = { state: "rejected", failure: { code: 500, message: "no" }, waiters: [] };
    store.write((tx) => {
      tx.putPromise("Signup", "u1", "link", pending);
      tx.putPromise("Signup", "u2", "link", rejected);
    });
    assert.deepEqual(store.read((tx) => tx.getPromise("Signup", "u1", "link")), pending);
    assert.equal(store.read((tx) => tx.getPromise("Signup", "u1", "other")), null);
    store.write((tx) => tx.putPromise("Signup", "u1", "link", resolved));
    assert.deepEqual(store.read((tx) => tx.listPromises()), [
      { service: "Signup", key: "u1", name: "link", entry: resolved },
      { service: "Signup", key: "u2", name: "link", entry: rejected },
    ]);
    store.write((tx) => tx.clearPromises("Signup", "u1"));
    assert.deepEqual(store.read((tx) => tx.listPromises().map((p) => p.key)), ["u2"]);
  });

  it("a stored body that does not decode is a CorruptionError naming the store file", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    store.write((tx) => tx.putInvocation(invocation(id, "invoked")));
    const raw = new Database(store.path);
    // A map header announcing five entries and the start of one key, then nothing: a torn body.
    raw.prepare("UPDATE invocation_status SET body = x'85a161' WHERE id = ?").run(id);
    raw.close();
    assert.throws(
      () => store.read((tx) => tx.getInvocation(id)),
      (e: unknown) => e instanceof CorruptionError && e.code === "corruption" && !e.retryable && e.message.includes(store.path),
    );
  });
});
