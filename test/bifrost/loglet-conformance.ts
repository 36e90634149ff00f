import assert, { AssertionError } from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { LogletOffset, SealedError, type Loglet, type LogletEntry, type LogletRecord, type LogletTail } from "../../src/bifrost/loglet.ts";

/** One fresh loglet as the suite sees it. */
export interface LogletUnderTest {
  /** The handle that appends (a replicated loglet's sequencer). */
  readonly writer: Loglet;
  /** The same loglet as another node opens it; the writer itself where there is no other node. */
  readonly peer: Loglet;
  /** Syncs completed so far on each storage node: one entry for a local loglet, one per log server. */
  syncs(): readonly number[];
  /** On how many storage nodes a record must be synced before its append may be acknowledged. */
  readonly syncQuorum: number;
}

export interface LogletBackend {
  /** A new, empty loglet; every test gets its own. */
  create(): Promise<LogletUnderTest>;
  /** Closes every loglet it created and stops whatever it started. */
  close(): Promise<void>;
}

const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");
const dec = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

function records(entries: readonly LogletEntry[]): LogletRecord[] {
  return entries.map((e) => {
    assert.ok(!("trimGapTo" in e), `unexpected trim gap at ${e.offset}`);
    return e;
  });
}

/** Every entry from `from` up to the committed tail, in as many reads as it takes (a read may return fewer than asked). */
async function readAll(loglet: Loglet, from = 1): Promise<LogletEntry[]> {
  const out: LogletEntry[] = [];
  for (let next = from; ; ) {
    const batch = await loglet.read(LogletOffset(next), 100);
    if (batch.length === 0) return out;
    assert.equal(batch[0].offset, next, "a read starts at the offset asked for");
    out.push(...batch);
    const last = batch[batch.length - 1];
    next = ("trimGapTo" in last ? last.trimGapTo : last.offset) + 1;
  }
}

const texts = async (loglet: Loglet, from = 1): Promise<string[]> => records(await readAll(loglet, from)).map((r) => dec(r.payload));

/** The peer learns the tail asynchronously (a replicated reader from the log servers): wait until it passed `last`. */
async function peerCaughtUp(subject: LogletUnderTest, last: number): Promise<void> {
  const tail = await subject.peer.waitForTail(LogletOffset(last));
  assert.ok(tail.nextOffset > last, `peer tail ${tail.nextOffset} passed ${last}`);
}

/** Resolves with whether `p` settled within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(ms);
  return settled;
}

/**
 * Appends one record at a time, then several at once, and checks that each acknowledgement came
 * after a sync on `syncQuorum` storage nodes that completed after the append was called. Sequential
 * appends are separate batches, so each needs its own sync; concurrent ones may share one. Throws
 * an AssertionError naming the first append acknowledged too early. It sees syncs as of the
 * loglet's acknowledgement: a log server that answers a store just before its commit goes
 * unnoticed when the commit still lands before the answer arrives (test/log-server/record-store.test.ts
 * checks the store's own order).
 */
export async function checkDurability(subject: LogletUnderTest, rounds = 20, concurrent = 32): Promise<void> {
  const { writer, syncQuorum } = subject;
  const syncedSince = (before: readonly number[]): number => subject.syncs().filter((n, i) => n > before[i]).length;
  const total = (): number => subject.syncs().reduce((a, b) => a + b, 0);

  const checked = async (payloads: Uint8Array[], what: string): Promise<void> => {
    const before = subject.syncs();
    // Read at the acknowledgement itself: nothing else runs between the resolve and this callback.
    const { offset, synced } = await writer.append(payloads).then((o) => ({ offset: o, synced: syncedSince(before) }));
    if (synced < syncQuorum) {
      throw new AssertionError({
        message: `${what} (offset ${offset}) was acknowledged after a sync on ${synced} storage nodes; it needs ${syncQuorum} before its acknowledgement`,
        actual: synced,
        expected: syncQuorum,
        operator: ">=",
      });
    }
  };

  const start = total();
  for (let i = 0; i < rounds; i++) await checked([enc(`durable-${i}`)], `sequential append ${i}`);
  const sequentialSyncs = total() - start;
  if (sequentialSyncs < rounds * syncQuorum) {
    throw new AssertionError({
      message: `${rounds} sequential appends were acknowledged after ${sequentialSyncs} syncs; each batch needs its own on ${syncQuorum} nodes`,
      actual: sequentialSyncs,
      expected: rounds * syncQuorum,
      operator: ">=",
    });
  }
  await checked([enc("durable-batch-a"), enc("durable-batch-b"), enc("durable-batch-c")], "batch append");
  await Promise.all(Array.from({ length: concurrent }, (_, i) => checked([enc(`durable-concurrent-${i}`)], `concurrent append ${i}`)));
}

/** One suite for every `Loglet` implementation. */
export function logletConformance(name: string, open: () => Promise<LogletBackend>): void {
  describe(`Loglet conformance: ${name}`, () => {
    let backend: LogletBackend;
    before(async () => {
      backend = await open();
    });
    after(async () => {
      await backend.close();
    });
    const create = (): Promise<LogletUnderTest> => backend.create();
    // A loglet that never answers fails its own test instead of the whole suite.
    const test = (title: string, fn: () => Promise<void>): void => void it(title, { timeout: 20_000 }, fn);

    test("starts empty at offset 1", async () => {
      const { writer, peer } = await create();
      for (const l of new Set([writer, peer])) {
        assert.deepEqual(await l.findTail(), { nextOffset: 1, sealed: false });
        assert.deepEqual(await l.read(LogletOffset(1), 10), []);
        assert.equal(await l.getTrimPoint(), 0);
      }
    });

    test("acknowledges single and batch appends with the offset of their last record, consecutively", async () => {
      const subject = await create();
      const { writer, peer } = subject;
      assert.equal(await writer.append([enc("a")]), 1);
      assert.equal(await writer.append([enc("b"), enc("c"), enc("d")]), 4);
      assert.equal(await writer.append([enc("e")]), 5);
      assert.deepEqual(await writer.findTail(), { nextOffset: 6, sealed: false });
      await peerCaughtUp(subject, 5);
      for (const l of new Set([writer, peer])) {
        assert.deepEqual(
          records(await readAll(l)).map((r) => [r.offset, dec(r.payload)]),
          [[1, "a"], [2, "b"], [3, "c"], [4, "d"], [5, "e"]],
        );
      }
    });

    test("reads from any offset, at most `limit` entries, nothing at or beyond the tail", async () => {
      const subject = await create();
      const { writer, peer } = subject;
      await writer.append(Array.from({ length: 10 }, (_, i) => enc(`r${i + 1}`)));
      await peerCaughtUp(subject, 10);
      for (const l of new Set([writer, peer])) {
        const some = records(await l.read(LogletOffset(4), 3));
        assert.ok(some.length >= 1 && some.length <= 3, `read(4, 3) returned ${some.length} entries`);
        assert.deepEqual(
          some.map((r) => [r.offset, dec(r.payload)]),
          some.map((_, i) => [4 + i, `r${4 + i}`]),
        );
        assert.deepEqual(await texts(l, 7), ["r7", "r8", "r9", "r10"]);
        assert.deepEqual(await l.read(LogletOffset(11), 10), [], "reading at the tail returns nothing");
        assert.deepEqual(await l.read(LogletOffset(50), 10), [], "reading beyond the tail returns nothing");
      }
    });

    test("waitForTail: answers at once below the tail, waits for a record ahead of it, honours abort", async () => {
      const { writer, peer } = await create();
      await writer.append([enc("1"), enc("2")]);
      assert.ok((await writer.waitForTail(LogletOffset(2))).nextOffset > 2);

      const waiters = [...new Set([writer, peer])].map((l) => ({ l, waiting: l.waitForTail(LogletOffset(3)) }));
      for (const { waiting } of waiters) assert.equal(await settlesWithin(waiting, 50), false, "tail 3 does not pass offset 3");
      assert.equal(await writer.append([enc("3")]), 3);
      for (const { l, waiting } of waiters) {
        const tail = await waiting;
        assert.equal(tail.sealed, false);
        assert.ok(tail.nextOffset > 3, `released with tail ${tail.nextOffset}`);
        assert.deepEqual(records(await l.read(LogletOffset(3), 1)).map((r) => dec(r.payload)), ["3"], "the awaited record is readable");
      }

      // The writer knows its own tail; a reader learns it as it waits, and need not know yet.
      assert.deepEqual(writer.tailPast(LogletOffset(3)), { nextOffset: 4, sealed: false });
      assert.equal(writer.tailPast(LogletOffset(4)), null, "nothing is known past the tail");
      for (const l of new Set([writer, peer])) assert.ok(l.tailPast(LogletOffset(2))!.nextOffset > 3, "the awaited tail is known without waiting");

      for (const l of new Set([writer, peer])) {
        const abort = new AbortController();
        const aborted = l.waitForTail(LogletOffset(100), abort.signal);
        abort.abort(new Error("stop waiting"));
        await assert.rejects(aborted);
        await assert.rejects(l.waitForTail(LogletOffset(100), AbortSignal.abort(new Error("aborted before"))));
      }
    });

    test("seals: the tail is fixed, appends fail with SealedError, sealing again (from any node) returns the same tail", async () => {
      const subject = await create();
      const { writer, peer } = subject;
      await writer.append([enc("x"), enc("y"), enc("z")]);
      const waiting = [...new Set([writer, peer])].map((l) => l.waitForTail(LogletOffset(50)));
      const sealed = await writer.seal();
      assert.deepEqual(sealed, { nextOffset: 4, sealed: true });
      await assert.rejects(writer.append([enc("late")]), SealedError);
      assert.deepEqual(await writer.seal(), sealed, "sealing twice is fine");
      assert.deepEqual(await peer.seal(), sealed, "a seal from another node finds the same tail");
      for (const tail of await Promise.all(waiting)) assert.deepEqual(tail, sealed, "a seal releases waiters beyond the tail");
      for (const l of new Set([writer, peer])) {
        assert.deepEqual(await l.findTail(), sealed);
        assert.deepEqual(await l.waitForTail(LogletOffset(10)), sealed);
        assert.deepEqual(l.tailPast(LogletOffset(10)), sealed, "a sealed loglet's tail is known");
        assert.deepEqual(await texts(l), ["x", "y", "z"], "everything before the seal stays readable");
        assert.deepEqual(await l.read(LogletOffset(4), 10), []);
      }
      await assert.rejects(writer.append([enc("later")]), SealedError);
    });

    test("a seal by another node stops the writer; findTail reports the final tail everywhere", async () => {
      const subject = await create();
      const { writer, peer } = subject;
      for (let i = 0; i < 5; i++) await writer.append([enc(`s${i}`)]);
      const sealed = await peer.seal();
      assert.deepEqual(sealed, { nextOffset: 6, sealed: true });
      await assert.rejects(writer.append([enc("late")]), SealedError);
      assert.deepEqual(await writer.findTail(), sealed);
      assert.deepEqual(await writer.seal(), sealed);
      assert.deepEqual(await texts(writer), ["s0", "s1", "s2", "s3", "s4"]);
    });

    test("appends racing a seal either land below the sealed tail or fail with SealedError", async () => {
      const { writer, peer } = await create();
      await writer.append([enc("first")]);
      const racing: Array<Promise<unknown>> = [];
      const issue = (i: number): number => racing.push(writer.append([enc(`race-${i}`)]).then((o) => o, (e: unknown) => e));
      // Some appends are in flight when the seal starts, others arrive while it runs.
      for (let i = 0; i < 25; i++) {
        issue(i);
        await new Promise((r) => setImmediate(r));
      }
      const sealing = writer.seal();
      for (let i = 25; i < 50; i++) issue(i);
      const sealed: LogletTail = await sealing;
      const outcomes = await Promise.all(racing);
      assert.equal(sealed.sealed, true);
      // Offsets follow call order, so the acknowledged appends are the first ones, right after "first".
      const acked = sealed.nextOffset - 2;
      assert.deepEqual(outcomes.slice(0, acked), Array.from({ length: acked }, (_, i) => i + 2), "every offset below the sealed tail was acknowledged");
      for (const o of outcomes.slice(acked)) assert.ok(o instanceof SealedError, `an append beyond the sealed tail failed with ${String(o)}`);
      for (const l of new Set([writer, peer])) {
        assert.deepEqual(await l.findTail(), sealed);
        assert.deepEqual(await texts(l), ["first", ...Array.from({ length: acked }, (_, i) => `race-${i}`)]);
      }
    });

    test("trims: reads below the trim point report a gap up to it, later records stay readable", async () => {
      const subject = await create();
      const { writer, peer } = subject;
      await writer.append(Array.from({ length: 10 }, (_, i) => enc(`t${i + 1}`)));
      await peerCaughtUp(subject, 10);
      await writer.trim(LogletOffset(4));
      for (const l of new Set([writer, peer])) {
        assert.equal(await l.getTrimPoint(), 4);
        const entries = await l.read(LogletOffset(1), 10);
        assert.deepEqual(entries[0], { offset: 1, trimGapTo: 4 }, "a read from 1 starts with the gap");
        // A read may stop after the gap; whatever follows it starts right after the trim point.
        assert.deepEqual(
          records(entries.slice(1)).map((r) => r.offset),
          entries.slice(1).map((_, i) => 5 + i),
        );
        assert.deepEqual(await l.read(LogletOffset(3), 1), [{ offset: 3, trimGapTo: 4 }]);
        assert.deepEqual(await texts(l, 5), ["t5", "t6", "t7", "t8", "t9", "t10"]);
      }
      await writer.trim(LogletOffset(2));
      assert.equal(await writer.getTrimPoint(), 4, "trimming below the trim point is a no-op");
      await writer.trim(LogletOffset(4));
      assert.equal(await writer.getTrimPoint(), 4, "trimming to the trim point again is a no-op");
    });

    test("trims no further than the last record; appends continue at the tail", async () => {
      const subject = await create();
      const { writer, peer } = subject;
      await writer.append([enc("a"), enc("b"), enc("c")]);
      await peerCaughtUp(subject, 3);
      await peer.trim(LogletOffset(1000));
      assert.equal(await writer.getTrimPoint(), 3);
      assert.equal(await peer.getTrimPoint(), 3);
      assert.deepEqual(await writer.findTail(), { nextOffset: 4, sealed: false });
      assert.equal(await writer.append([enc("d")]), 4);
      await peerCaughtUp(subject, 4);
      for (const l of new Set([writer, peer])) {
        const entries = await readAll(l);
        assert.deepEqual(entries[0], { offset: 1, trimGapTo: 3 });
        assert.deepEqual(records(entries.slice(1)).map((r) => [r.offset, dec(r.payload)]), [[4, "d"]]);
      }
    });

    test("N parallel appenders: every acknowledged record is readable exactly once, offsets gapless", async () => {
      const subject = await create();
      const { writer, peer } = subject;
      const appenders = 8;
      const perAppender = 25;
      /** offset → the payload its append carried there */
      const expected = new Map<number, string>();
      await Promise.all(
        Array.from({ length: appenders }, async (_, a) => {
          let previous = 0;
          for (let i = 0; i < perAppender; i++) {
            const size = 1 + ((a + i) % 3);
            const batch = Array.from({ length: size }, (_, k) => `w${a}-${i}-${k}`);
            const last = await writer.append(batch.map(enc));
            assert.ok(last > previous, `appender ${a}: offsets follow its call order`);
            previous = last;
            batch.forEach((t, k) => {
              const offset = last - size + 1 + k;
              assert.equal(expected.get(offset), undefined, `offset ${offset} acknowledged twice`);
              expected.set(offset, t);
            });
          }
        }),
      );
      const total = expected.size;
      assert.deepEqual([...expected.keys()].sort((x, y) => x - y), Array.from({ length: total }, (_, i) => i + 1), "offsets are gapless from 1");
      assert.deepEqual(await writer.findTail(), { nextOffset: total + 1, sealed: false });
      await peerCaughtUp(subject, total);
      for (const l of new Set([writer, peer])) {
        const read = records(await readAll(l));
        assert.equal(read.length, total);
        for (const r of read) assert.equal(dec(r.payload), expected.get(r.offset), `record at ${r.offset}`);
      }
    });

    test("acknowledges an append only after it was synced on enough storage nodes", async () => {
      const subject = await create();
      await checkDurability(subject);
      const tail = (await subject.writer.findTail()).nextOffset;
      assert.equal(tail, 20 + 3 + 32 + 1, "the durability check's appends are all in the log");
    });
  });
}
