import assert from "node:assert/strict";
import { appendFileSync, constants as fsConstants, readdirSync, readFileSync, readlinkSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { writeDurably } from "../../src/bifrost/local/local-loglet.ts";
import { LogletOffset, SealedError } from "../../src/bifrost/loglet.ts";
import { CorruptionError } from "../../src/types/errors.ts";
import { tempDir } from "../support/temp.ts";
import { captureLogger, dec, enc, openLoglet, payloadFor, readAll, records } from "./helpers.ts";

const dataFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith(".log")).sort();

describe("LocalLoglet", () => {
  const tmp = tempDir("reprise-loglet-");
  after(() => tmp.remove());
  let n = 0;
  const fresh = (): string => join(tmp.path, `l${n++}`);

  it("appends, reads back and survives a restart", async () => {
    const dir = fresh();
    let loglet = await openLoglet(dir);
    assert.equal(await loglet.append([enc("a")]), 1);
    assert.equal(await loglet.append([enc("b"), enc("c")]), 3);
    assert.deepEqual(await loglet.findTail(), { nextOffset: 4, sealed: false });
    assert.deepEqual(records(await loglet.read(LogletOffset(2), 10)).map((r) => dec(r.payload)), ["b", "c"]);
    assert.deepEqual(await loglet.read(LogletOffset(4), 10), []);
    await loglet.close();

    loglet = await openLoglet(dir);
    assert.deepEqual(await loglet.findTail(), { nextOffset: 4, sealed: false });
    assert.deepEqual(records(await readAll(loglet)).map((r) => [r.offset, dec(r.payload)]), [[1, "a"], [2, "b"], [3, "c"]]);
    assert.equal(await loglet.append([enc("d")]), 4);
    await loglet.close();
  });

  it("writes its data files through descriptors opened with O_DSYNC, a new file's and a reopened one's", async () => {
    const dir = fresh();
    // The open flags of every descriptor this process holds on the loglet's data files (Linux: /proc/self/fdinfo).
    const dataFileFlags = (): number[] =>
      readdirSync("/proc/self/fd").flatMap((fd) => {
        let target: string;
        try {
          target = readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return [];
        }
        if (!target.startsWith(dir) || !target.endsWith(".log")) return [];
        return [parseInt(/^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1], 8)];
      });
    let loglet = await openLoglet(dir);
    await loglet.append([enc("a")]);
    assert.deepEqual(dataFileFlags().map((f) => (f & fsConstants.O_DSYNC) !== 0), [true]);
    await loglet.close();
    loglet = await openLoglet(dir);
    assert.deepEqual(dataFileFlags().map((f) => (f & fsConstants.O_DSYNC) !== 0), [true]);
    await loglet.close();
  });

  it("group-commits 1000 concurrent appends into dense offsets in call order", async () => {
    const dir = fresh();
    // Count durable writes: appends that queue behind one in flight must share the next one.
    let syncs = 0;
    const loglet = await openLoglet(dir, {
      writeDataFile: (file, bytes, position) => {
        syncs++;
        return writeDurably(file, bytes, position);
      },
    });
    const acks = await Promise.all(Array.from({ length: 1000 }, (_, i) => loglet.append([payloadFor(i)])));
    assert.deepEqual(acks, Array.from({ length: 1000 }, (_, i) => i + 1));
    assert.ok(syncs <= 5, `1000 concurrent appends took ${syncs} durable writes`);
    // Mixed batch sizes: each append's records stay contiguous and end at the acknowledged offset.
    const sizes = [3, 1, 5, 2];
    const multi = await Promise.all(sizes.map((k, j) => loglet.append(Array.from({ length: k }, (_, i) => payloadFor(2000 + j * 10 + i)))));
    assert.deepEqual(multi, [1003, 1004, 1009, 1011]);
    await loglet.close();

    const reopened = await openLoglet(dir, { tailCacheBytes: 0 });
    const all = records(await readAll(reopened));
    assert.equal(all.length, 1011);
    for (let i = 0; i < 1000; i++) assert.deepEqual(all[i].payload, payloadFor(i));
    assert.deepEqual(all[1003].payload, payloadFor(2010));
    assert.deepEqual(all[1004].payload, payloadFor(2020));
    await reopened.close();
  });

  it("reads old records from files across rolled data files, new ones from the cache", async () => {
    const dir = fresh();
    const loglet = await openLoglet(dir, { rollBytes: 8 << 10, tailCacheBytes: 16 << 10 });
    for (let i = 0; i < 200; i++) await loglet.append([payloadFor(i)]);
    assert.ok(dataFiles(dir).length > 10, `expected rolled files, got ${dataFiles(dir).length}`);
    const all = records(await readAll(loglet));
    assert.deepEqual(all.map((r) => r.offset), Array.from({ length: 200 }, (_, i) => i + 1));
    for (const r of all) assert.deepEqual(r.payload, payloadFor(r.offset - 1));
    // A read that starts on disk and runs into the cached tail.
    const mid = records(await loglet.read(LogletOffset(150), 100));
    assert.deepEqual(mid.map((r) => r.offset), Array.from({ length: 51 }, (_, i) => 150 + i));
    await loglet.close();
  });

  it("reopens files larger than a scan chunk, with frames straddling chunk borders and many tiny records", async () => {
    const dir = fresh();
    let loglet = await openLoglet(dir);
    await loglet.append(Array.from({ length: 3000 }, (_, i) => payloadFor(i)));
    const tiny = Array.from({ length: 150_000 }, (_, i) => enc(String(i)));
    assert.equal(await loglet.append(tiny), 153_000);
    await loglet.close();
    assert.ok(statSync(join(dir, dataFiles(dir)[0])).size > 5 << 20);

    loglet = await openLoglet(dir, { tailCacheBytes: 0 });
    assert.deepEqual(await loglet.findTail(), { nextOffset: 153_001, sealed: false });
    const all = records(await readAll(loglet));
    assert.equal(all.length, 153_000);
    for (let i = 0; i < 3000; i++) assert.deepEqual(all[i].payload, payloadFor(i));
    assert.equal(dec(all[152_999].payload), "149999");
    await loglet.close();
  });

  it("cuts a torn tail on reopen, warns, and keeps appending after it", async () => {
    const dir = fresh();
    let loglet = await openLoglet(dir);
    for (let i = 0; i < 10; i++) await loglet.append([payloadFor(i)]);
    await loglet.close();
    const [file] = dataFiles(dir);
    const path = join(dir, file);
    const size = statSync(path).size;
    truncateSync(path, size - 40); // mid-way through record 10
    appendFileSync(path, Buffer.from("garbage after a crash \x00\x01\x02\xff".repeat(5)));

    const capture = captureLogger();
    loglet = await openLoglet(dir, { logger: capture.logger });
    assert.deepEqual(await loglet.findTail(), { nextOffset: 10, sealed: false });
    const warning = capture.lines().find((l) => l.msg === "cut torn tail of loglet data file");
    assert.ok(warning, "a warning names the cut");
    assert.equal(warning.offset, 10);
    assert.equal(await loglet.append([payloadFor(100)]), 10);
    await loglet.close();

    loglet = await openLoglet(dir);
    const all = records(await readAll(loglet));
    assert.equal(all.length, 10);
    for (let i = 0; i < 9; i++) assert.deepEqual(all[i].payload, payloadFor(i));
    assert.deepEqual(all[9].payload, payloadFor(100));
    await loglet.close();
  });

  it("treats a header cut short as a torn tail too", async () => {
    const dir = fresh();
    let loglet = await openLoglet(dir);
    await loglet.append([enc("one"), enc("two")]);
    await loglet.close();
    const path = join(dir, dataFiles(dir)[0]);
    truncateSync(path, statSync(path).size - 3 - 10); // leaves 6 bytes of record 2's header
    loglet = await openLoglet(dir);
    assert.deepEqual(records(await readAll(loglet)).map((r) => dec(r.payload)), ["one"]);
    await loglet.close();
  });

  it("refuses to open when a record in the middle is corrupt", async () => {
    const dir = fresh();
    const loglet = await openLoglet(dir);
    for (let i = 0; i < 10; i++) await loglet.append([payloadFor(i)]);
    await loglet.close();
    const path = join(dir, dataFiles(dir)[0]);
    const bytes = readFileSync(path);
    let pos = 0;
    for (let i = 0; i < 4; i++) pos += 16 + bytes.readUInt32LE(pos);
    bytes[pos + 16 + 50] ^= 0xff; // payload byte of record 5
    writeFileSync(path, bytes);
    await assert.rejects(openLoglet(dir), (e: unknown) => e instanceof CorruptionError && /offset 5.*intact records follow/.test(e.message));
  });

  it("refuses to open when an older data file has a bad record, even at its end", async () => {
    const dir = fresh();
    const loglet = await openLoglet(dir, { rollBytes: 4 << 10 });
    for (let i = 0; i < 30; i++) await loglet.append([payloadFor(i)]);
    await loglet.close();
    const files = dataFiles(dir);
    assert.ok(files.length >= 2);
    const path = join(dir, files[0]);
    truncateSync(path, statSync(path).size - 1);
    await assert.rejects(openLoglet(dir), (e: unknown) => e instanceof CorruptionError && /later data files exist/.test(e.message));
  });

  it("detects a checksum mismatch when reading a record from disk", async () => {
    const dir = fresh();
    const loglet = await openLoglet(dir, { tailCacheBytes: 0 });
    await loglet.append([enc("hello"), enc("world")]);
    const path = join(dir, dataFiles(dir)[0]);
    const bytes = readFileSync(path);
    bytes[16 + 1] ^= 0x01; // first record's payload, changed behind the loglet's back
    writeFileSync(path, bytes);
    await assert.rejects(loglet.read(LogletOffset(1), 10), CorruptionError);
    await loglet.close();
  });

  it("seals: appends fail, the tail is fixed, and both survive a restart", async () => {
    const dir = fresh();
    let loglet = await openLoglet(dir);
    // Appends racing the seal either land below the sealed tail or fail with SealedError.
    const racing = Array.from({ length: 50 }, (_, i) => loglet.append([payloadFor(i)]).then((o) => o, (e: unknown) => e));
    const sealed = await loglet.seal();
    const outcomes = await Promise.all(racing);
    const acked = outcomes.filter((o): o is LogletOffset => typeof o === "number");
    assert.ok(outcomes.every((o) => typeof o === "number" || o instanceof SealedError));
    assert.deepEqual(acked, Array.from({ length: sealed.nextOffset - 1 }, (_, i) => i + 1));
    assert.equal(sealed.sealed, true);
    await assert.rejects(loglet.append([enc("late")]), SealedError);
    assert.deepEqual(await loglet.seal(), sealed, "seal is idempotent");
    // A tail waiter beyond the sealed tail is released by the seal.
    assert.deepEqual(await loglet.waitForTail(LogletOffset(sealed.nextOffset + 5)), sealed);
    await loglet.close();

    loglet = await openLoglet(dir);
    assert.deepEqual(await loglet.findTail(), sealed);
    await assert.rejects(loglet.append([enc("after restart")]), SealedError);
    await loglet.close();
  });

  it("releases tail waiters on append, and honours abort", async () => {
    const loglet = await openLoglet(fresh());
    const waiting = loglet.waitForTail(LogletOffset(2));
    let resolved = false;
    void waiting.then(() => (resolved = true));
    await loglet.append([enc("1")]);
    await new Promise((r) => setImmediate(r));
    assert.equal(resolved, false, "tail 2 does not pass offset 2");
    await loglet.append([enc("2")]);
    assert.deepEqual(await waiting, { nextOffset: 3, sealed: false });

    const abort = new AbortController();
    const aborted = loglet.waitForTail(LogletOffset(10), abort.signal);
    abort.abort(new Error("stop waiting"));
    await assert.rejects(aborted, /stop waiting/);
    await loglet.close();
  });

  it("trims: gap below the trim point, whole files deleted, state kept across restart", async () => {
    const dir = fresh();
    let loglet = await openLoglet(dir, { rollBytes: 4 << 10, tailCacheBytes: 8 << 10 });
    for (let i = 0; i < 100; i++) await loglet.append([payloadFor(i)]);
    const filesBefore = dataFiles(dir);
    await loglet.trim(LogletOffset(55));
    assert.equal(await loglet.getTrimPoint(), 55);
    const filesAfter = dataFiles(dir);
    assert.ok(filesAfter.length < filesBefore.length, "files below the trim point are deleted");
    assert.ok(Number(filesAfter[0].slice(0, 20)) <= 56, "the file holding offset 56 is kept");

    const check = async (): Promise<void> => {
      const entries = await loglet.read(LogletOffset(1), 5);
      assert.deepEqual(entries[0], { offset: 1, trimGapTo: 55 });
      assert.deepEqual(records(entries.slice(1)).map((r) => r.offset), [56, 57, 58, 59]);
      assert.deepEqual(records(entries.slice(1))[0].payload, payloadFor(55));
      assert.deepEqual(await loglet.read(LogletOffset(30), 1), [{ offset: 30, trimGapTo: 55 }]);
    };
    await check();
    await loglet.trim(LogletOffset(20)); // below the trim point: no-op
    assert.equal(await loglet.getTrimPoint(), 55);
    await loglet.close();

    loglet = await openLoglet(dir, { rollBytes: 4 << 10 });
    assert.equal(await loglet.getTrimPoint(), 55);
    await check();
    // Trimming past the tail stops at the last record; the next append still gets the next offset.
    await loglet.trim(LogletOffset(1000));
    assert.equal(await loglet.getTrimPoint(), 100);
    assert.equal(await loglet.append([enc("after trim")]), 101);
    assert.deepEqual(await loglet.read(LogletOffset(1), 10), [{ offset: 1, trimGapTo: 100 }, { offset: 101, payload: enc("after trim") }]);
    await loglet.close();
    loglet = await openLoglet(dir);
    assert.deepEqual(await loglet.findTail(), { nextOffset: 102, sealed: false });
    await loglet.close();
  });
});
