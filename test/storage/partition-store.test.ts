import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PartitionStore, type ReadTxn, type WriteTxn } from "../../src/storage/partition-store.ts";
import type { LeaderHandle, PartitionProcessor } from "../../src/partition/processor.ts";
import { Lsn } from "../../src/types/ids.ts";
import { fileStore, invocation, invocationId } from "./fixtures.ts";

/** Every write method of WriteTxn; the compiler keeps the list complete and free of read methods. */
const WRITE_METHODS = [
  "setAppliedLsn",
  "setLeaderEpoch",
  "nextCounter",
  "putInvocation",
  "deleteInvocation",
  "appendJournal",
  "deleteJournal",
  "setStateValue",
  "clearStateValue",
  "clearAllState",
  "setKeyLock",
  "pushInbox",
  "popInbox",
  "putTimer",
  "deleteTimer",
  "deleteTimersWithKeyPrefix",
  "putOutbox",
  "deleteOutbox",
  "putIdempotency",
  "deleteIdempotency",
  "putPromise",
  "clearPromises",
] as const satisfies readonly Exclude<keyof WriteTxn, keyof ReadTxn>[];
type Missing = Exclude<Exclude<keyof WriteTxn, keyof ReadTxn>, (typeof WRITE_METHODS)[number]>;
const noneMissing: [Missing] extends [never] ? true : Missing = true;

describe("partition store transactions", () => {
  it("the applied LSN commits together with the changes it covers and survives a reopen", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    store.write((tx) => {
      tx.putInvocation(invocation(id, "invoked"));
      tx.setStateValue("Counter", "k1", "count", Buffer.from("1"));
      tx.setAppliedLsn(Lsn(5));
    });
    const reopened = new PartitionStore(store.path);
    t.after(() => reopened.close());
    reopened.read((tx) => {
      assert.equal(tx.appliedLsn(), 5);
      assert.equal(tx.getInvocation(id)?.status, "invoked");
      assert.deepEqual(tx.getStateValue("Counter", "k1", "count"), Buffer.from("1"));
    });
  });

  it("a write that throws commits nothing, not even its applied LSN", (t) => {
    const store = fileStore(t);
    store.write((tx) => tx.setAppliedLsn(Lsn(5)));
    const id = invocationId();
    assert.throws(
      () =>
        store.write((tx) => {
          tx.putInvocation(invocation(id, "invoked"));
          tx.setKeyLock("Counter", "k1", id);
          tx.setAppliedLsn(Lsn(6));
          throw new Error("apply failed");
        }),
      /apply failed/,
    );
    store.read((tx) => {
      assert.equal(tx.appliedLsn(), 5);
      assert.equal(tx.getInvocation(id), null);
      assert.equal(tx.getKeyLock("Counter", "k1"), null);
    });
  });

  it("a read transaction is its own object, without write methods at runtime", (t) => {
    const store = fileStore(t);
    assert.equal(noneMissing, true);
    const writeTx = store.write((tx) => tx);
    const readTx = store.read((tx) => tx);
    assert.notEqual(readTx, writeTx);
    for (const method of WRITE_METHODS) {
      assert.equal(typeof writeTx[method], "function", `${method} on the write transaction`);
      assert.equal(method in readTx, false, `${method} on the read transaction`);
    }
    // Nobody can bolt a write method onto the shared read object either.
    assert.ok(Object.isFrozen(readTx));
  });

  it("a read inside a write sees the write's uncommitted changes, through the read-only object", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    const seen = store.write((tx) => {
      tx.putInvocation(invocation(id, "invoked"));
      return store.read((r) => ({ status: r.getInvocation(id)?.status, canWrite: "putInvocation" in r }));
    });
    assert.deepEqual(seen, { status: "invoked", canWrite: false });
  });

  it("the type system refuses a write through a read transaction", (t) => {
    const store = fileStore(t);
    const id = invocationId();
    store.read((tx) => {
      // @ts-expect-error — ReadTxn has no write methods
      assert.throws(() => tx.putInvocation(invocation(id, "invoked")), TypeError);
    });
    assert.equal(store.read((tx) => tx.getInvocation(id)), null);
  });

  it("the invoker's view of the store (leader handle, processor) has no write, in types and at runtime", (t) => {
    const store = fileStore(t);
    const handle: Pick<LeaderHandle, "store"> = { store: store.readOnly };
    const processorView: PartitionProcessor["store"] = store.readOnly;
    // @ts-expect-error — the leader handle's store is read-only
    assert.throws(() => handle.store.write(() => undefined), TypeError);
    // @ts-expect-error — so is the store a processor hands out
    assert.throws(() => processorView.write(() => undefined), TypeError);
    assert.equal("write" in store.readOnly, false);
    assert.ok(Object.isFrozen(store.readOnly));
    // What the view does offer reads the same store.
    store.write((tx) => tx.setAppliedLsn(Lsn(3)));
    assert.equal(handle.store.read((tx) => tx.appliedLsn()), 3);
    assert.equal(handle.store.path, store.path);
  });
});
