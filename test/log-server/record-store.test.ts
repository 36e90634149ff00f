import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { RecordStore, RecordStoreIoError } from "../../src/log-server/record-store.ts";
import { PlainNodeId } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";

const SEQUENCER = { id: PlainNodeId(7), generation: 1 };
const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");

describe("RecordStore durability", () => {
  const tmp = tempDir("reprise-record-store-");
  after(() => tmp.remove());

  it("resolves a store, seal or trim only after a synced commit holding it", async () => {
    const store = new RecordStore(join(tmp.path, "ops.sqlite"));
    try {
      const ops: Array<[string, () => Promise<void>]> = [
        ["store", () => store.store("l", 1, [enc("a"), enc("b")], SEQUENCER)],
        ["trim", () => store.trim("l", 1)],
        ["seal", () => store.seal("l")],
      ];
      for (const [what, op] of ops) {
        const before = store.syncedCommits;
        await op();
        assert.equal(store.syncedCommits, before + 1, `${what} resolved after ${store.syncedCommits - before} synced commits`);
      }
      assert.deepEqual(store.durable("l"), { localTail: 3, sealed: true, trimPoint: 1, knownGlobalTail: 0, sequencer: SEQUENCER });
    } finally {
      await store.close();
    }
  });

  it("commits on another thread: the caller's timers run while a commit is in flight", async () => {
    const store = new RecordStore(join(tmp.path, "thread.sqlite"));
    try {
      // 64 MiB take many milliseconds to write and fsync; a commit on this thread would hold the timer back until it is done.
      const payloads = Array.from({ length: 64 }, (_, i) => Buffer.alloc(1 << 20, i));
      const events: string[] = [];
      const stored = store.store("big", 1, payloads, SEQUENCER).then(() => events.push("stored"));
      // Queued after the store's flush, so the timer starts once the commit has.
      setImmediate(() => setTimeout(() => events.push("timer"), 1));
      await stored;
      assert.deepEqual(events, ["timer", "stored"]);
      assert.equal(store.durable("big").localTail, 65);
    } finally {
      await store.close();
    }
  });

  it("group-commits the writes of one event-loop turn with one sync", async () => {
    const store = new RecordStore(join(tmp.path, "group.sqlite"));
    try {
      const before = store.syncedCommits;
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.store(`l${i % 3}`, 1 + Math.floor(i / 3), [enc(`r${i}`)], SEQUENCER)));
      assert.equal(store.syncedCommits, before + 1);
      assert.deepEqual(
        store.read("l0", 1, 10, 10, 1 << 20).records.map((r) => r.payload.toString()),
        ["r0", "r3", "r6", "r9", "r12", "r15", "r18"],
      );
    } finally {
      await store.close();
    }
  });
  it("fails the transaction that failed and every write after it, and acknowledges none of them", async () => {
    const path = join(tmp.path, "poisoned.sqlite");
    await new RecordStore(path).close();
    // A real SQLite failure inside the writer's transaction: an insert of this payload aborts it.
    const poison = enc("poison");
    const db = new Database(path);
    db.exec(`CREATE TRIGGER poison BEFORE INSERT ON records WHEN NEW.payload = X'${Buffer.from(poison).toString("hex")}' BEGIN SELECT RAISE(ABORT, 'injected'); END`);
    db.close();
    const store = new RecordStore(path);
    await store.store("warm", 1, [enc("warm")], SEQUENCER);
    // The first commit is big, so the next ones reach the thread while it is busy; the last is made once the first settled, while the failing one runs.
    // Under load the thread may still take the first two in one transaction: then the first fails with it.
    const first = store.store("l", 1, Array.from({ length: 16 }, () => Buffer.alloc(1 << 20, 1)), SEQUENCER);
    const failing = new Promise<void>((resolve, reject) => setImmediate(() => store.store("l", 17, [...Array.from({ length: 16 }, () => Buffer.alloc(1 << 20, 2)), poison], SEQUENCER).then(resolve, reject)));
    const firstCommitted = first.then(
      () => true,
      () => false,
    );
    const behind = firstCommitted.then(() => store.store("l", 34, [enc("behind")], SEQUENCER));
    await assert.rejects(failing, RecordStoreIoError);
    await assert.rejects(behind, RecordStoreIoError);
    await assert.rejects(store.store("l", 35, [enc("later")], SEQUENCER), RecordStoreIoError);
    const committed = await firstCommitted;
    assert.equal(store.durable("l").localTail, committed ? 17 : 1);
    await assert.rejects(store.close(), RecordStoreIoError);

    const check = new Database(path);
    check.exec("DROP TRIGGER poison");
    assert.deepEqual(check.prepare("SELECT local_tail FROM loglets WHERE loglet_id = 'l'").pluck().all(), committed ? [17] : []);
    assert.equal(check.prepare("SELECT count(*) FROM records").pluck().get(), committed ? 17 : 1);
    check.close();
  });

  it("close commits what is enqueued while earlier commits settle", async () => {
    const path = join(tmp.path, "close.sqlite");
    const store = new RecordStore(path);
    const first = store.store("l", 1, [enc("first")], SEQUENCER);
    const late = first.then(() => store.store("l", 2, [enc("late")], SEQUENCER));
    await store.close();
    await late;
    const reopened = new RecordStore(path);
    try {
      assert.equal(reopened.durable("l").localTail, 3);
      assert.deepEqual(reopened.read("l", 1, 2, 10, 1 << 20).records.map((r) => r.payload.toString()), ["first", "late"]);
    } finally {
      await reopened.close();
    }
  });
});
