import assert from "node:assert/strict";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { RecordStore } from "../../src/log-server/record-store.ts";
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
});
