import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { PartitionStore } from "../../src/storage/partition-store.ts";
import { SnapshotReleasedError, SnapshotUnsupportedError } from "../../src/storage/errors.ts";
import { RepriseError } from "../../src/types/errors.ts";
import { Lsn } from "../../src/types/ids.ts";
import { fileStore, invocation, invocationId } from "./fixtures.ts";

const count = (n: number) => Buffer.from(String(n));

/** Commits one applied LSN that sets the counter state to `n`. */
function applyCount(store: PartitionStore, lsn: number): void {
  store.write((tx) => {
    tx.setStateValue("Counter", "k1", "count", count(lsn));
    tx.setAppliedLsn(Lsn(lsn));
  });
}

describe("openSnapshot: a read transaction on its own connection", () => {
  it("keeps seeing the state it opened on across awaits while writes commit; a new snapshot sees them", async (t) => {
    const store = fileStore(t);
    applyCount(store, 1);
    const snapshot = store.openSnapshot();
    t.after(() => snapshot.release());
    await tick();
    const added = invocationId();
    store.write((tx) => {
      tx.putInvocation(invocation(added, "invoked"));
      tx.setStateValue("Counter", "k1", "count", count(2));
      tx.setAppliedLsn(Lsn(2));
    });
    await tick();
    assert.equal(snapshot.appliedLsn(), 1);
    assert.deepEqual(snapshot.getStateValue("Counter", "k1", "count"), count(1));
    assert.equal(snapshot.getInvocation(added), null);
    assert.deepEqual(snapshot.listInvocations(), []);
    // The synchronous read on the writer's connection is already at the new state.
    assert.equal(store.read((tx) => tx.appliedLsn()), 2);

    const later = store.openSnapshot();
    t.after(() => later.release());
    assert.equal(later.appliedLsn(), 2);
    assert.equal(later.getInvocation(added)?.status, "invoked");
    assert.deepEqual(later.getStateValue("Counter", "k1", "count"), count(2));
  });

  it("fixes its view when opened, not at its first read", async (t) => {
    const store = fileStore(t);
    applyCount(store, 1);
    const snapshot = store.openSnapshot();
    t.after(() => snapshot.release());
    applyCount(store, 2);
    await tick();
    assert.deepEqual(snapshot.getStateValue("Counter", "k1", "count"), count(1));
  });

  it("many snapshots open at once each keep their own applied LSN, also beyond the idle pool", (t) => {
    const store = fileStore(t);
    const snapshots = [];
    for (let lsn = 1; lsn <= 8; lsn++) {
      applyCount(store, lsn);
      snapshots.push(store.openSnapshot());
    }
    assert.deepEqual(snapshots.map((s) => s.appliedLsn()), [1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of snapshots) s.release();
    applyCount(store, 9);
    const again = store.openSnapshot();
    t.after(() => again.release());
    assert.equal(again.appliedLsn(), 9);
  });

  it("after release every read throws, even once its connection serves the next snapshot", (t) => {
    const store = fileStore(t);
    applyCount(store, 1);
    const first = store.openSnapshot();
    first.release();
    first.release();
    applyCount(store, 2);
    const second = store.openSnapshot();
    t.after(() => second.release());
    assert.throws(() => first.appliedLsn(), SnapshotReleasedError);
    assert.throws(
      () => first.getStateValue("Counter", "k1", "count"),
      (e: unknown) => e instanceof SnapshotReleasedError && e.code === "snapshot_released" && !e.retryable,
    );
    // A stale release must not end the snapshot that now owns the connection.
    first.release();
    applyCount(store, 3);
    assert.equal(second.appliedLsn(), 2);
  });

  it("has no write methods, in types and at runtime", (t) => {
    const store = fileStore(t);
    const snapshot = store.openSnapshot();
    t.after(() => snapshot.release());
    // @ts-expect-error — a snapshot is a ReadTxn, which has no write methods
    assert.throws(() => snapshot.setAppliedLsn(Lsn(9)), TypeError);
    assert.equal("putInvocation" in snapshot, false);
    assert.equal(store.read((tx) => tx.appliedLsn()), 0);
  });

  it("is served through the read-only view too", (t) => {
    const store = fileStore(t);
    applyCount(store, 4);
    const snapshot = store.readOnly.openSnapshot();
    t.after(() => snapshot.release());
    assert.equal(snapshot.appliedLsn(), 4);
  });

  it("an in-memory store refuses, having no file for a second connection", () => {
    const store = new PartitionStore(":memory:");
    try {
      assert.throws(() => store.openSnapshot(), SnapshotUnsupportedError);
    } finally {
      store.close();
    }
  });

  it("closing the store ends open snapshots, and no new one opens", (t) => {
    const store = fileStore(t);
    applyCount(store, 1);
    const open = store.openSnapshot();
    const idle = store.openSnapshot();
    idle.release();
    store.close();
    assert.throws(() => open.appliedLsn(), SnapshotReleasedError);
    open.release();
    assert.throws(
      () => store.openSnapshot(),
      (e: unknown) => e instanceof RepriseError && e.code === "store_closed" && e.retryable,
    );
  });
});
