import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { mkdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { BifrostImpl, LogProviderUnavailableError } from "../../src/bifrost/bifrost-impl.ts";
import { isTrimGap, type LogEntry } from "../../src/bifrost/bifrost.ts";
import { createLocalBifrost } from "../../src/bifrost/local/create-local-bifrost.ts";
import { LocalLogletProvider } from "../../src/bifrost/local/provider.ts";
import { SealedError, type Loglet } from "../../src/bifrost/loglet.ts";
import type { LogletProvider } from "../../src/bifrost/loglet-provider.ts";
import { decodeDocument, METADATA_KEYS, type Logs } from "../../src/metadata/documents.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { LogId, Lsn } from "../../src/types/ids.ts";
import { tempDir } from "../support/temp.ts";
import { dec, enc } from "./helpers.ts";

const LOG = LogId(7);
const LOCAL = { provider: "local", params: {} } as const;

const show = (entries: readonly LogEntry[]): unknown[] => entries.map((e) => (isTrimGap(e) ? { gap: [e.lsn, e.trimGapTo] } : [e.lsn, dec(e.payload)]));

async function readAllLsns(bifrost: BifrostImpl, from: number): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for (let next = from; ; ) {
    const batch = await bifrost.read(LOG, Lsn(next), 3);
    if (batch.length === 0) return out;
    out.push(...batch);
    const last = batch[batch.length - 1];
    next = (isTrimGap(last) ? last.trimGapTo : last.lsn) + 1;
  }
}

describe("BifrostImpl on local loglets", () => {
  const tmp = tempDir("reprise-bifrost-");
  after(() => tmp.remove());
  let n = 0;
  const fresh = (): string => join(tmp.path, `b${n++}`);

  it("creates the log on first use and appends/reads by LSN across a restart", async () => {
    const dir = fresh();
    const metadata = new InMemoryMetadataStore();
    let bifrost = await createLocalBifrost(dir, metadata);
    assert.equal(await bifrost.findTail(LOG), 1);
    assert.equal(await bifrost.append(LOG, [enc("a"), enc("b")]), 2);
    assert.equal(await bifrost.append(LOG, [enc("c")]), 3);
    const logs = decodeDocument<Logs>((await metadata.get(METADATA_KEYS.logs))!.value);
    assert.deepEqual(logs.logs, [{ logId: LOG, segments: [{ index: 0, baseLsn: 1, provider: "local", params: {} }] }]);
    assert.ok(existsSync(join(dir, "7-0")), "loglet directory is <logId>-<segmentIndex>");
    await bifrost.close();

    bifrost = await createLocalBifrost(dir, metadata);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(2), 10)), [[2, "b"], [3, "c"]]);
    assert.equal(await bifrost.findTail(LOG), 4);
    await bifrost.close();
  });

  it("keeps the order of concurrent appends, including the first ones that open the log", async () => {
    const bifrost = await createLocalBifrost(fresh(), new InMemoryMetadataStore());
    const lsns = await Promise.all(Array.from({ length: 300 }, (_, i) => bifrost.append(LOG, [enc(`r${i}`)])));
    assert.deepEqual(lsns, Array.from({ length: 300 }, (_, i) => i + 1));
    const entries = await bifrost.read(LOG, Lsn(1), 1000);
    assert.deepEqual(entries.map((e) => (isTrimGap(e) ? "gap" : dec(e.payload))), Array.from({ length: 300 }, (_, i) => `r${i}`));
    await bifrost.close();
  });

  it("lets a reader follow the tail with read + waitForTail while appends run, across a reconfiguration", async () => {
    const bifrost = await createLocalBifrost(fresh(), new InMemoryMetadataStore());
    const total = 2000;
    const seen: string[] = [];
    const follower = (async () => {
      let next = 1;
      while (seen.length < total) {
        const entries = await bifrost.read(LOG, Lsn(next), 256);
        if (entries.length === 0) {
          await bifrost.waitForTail(LOG, Lsn(next));
          continue;
        }
        for (const e of entries) seen.push(isTrimGap(e) ? "gap" : dec(e.payload));
        next += entries.length;
      }
    })();
    for (let i = 0; i < total; i += 50) {
      if (i === 1000) await bifrost.sealAndExtend(LOG, LOCAL);
      await Promise.all(Array.from({ length: 50 }, (_, j) => bifrost.append(LOG, [enc(`r${i + j}`)])));
    }
    await follower;
    assert.deepEqual(seen, Array.from({ length: total }, (_, i) => `r${i}`));
    await bifrost.close();
  });

  it("seals and extends the chain; reads span both segments; LSNs stay dense across a restart", async () => {
    const dir = fresh();
    const metadata = new InMemoryMetadataStore();
    let bifrost = await createLocalBifrost(dir, metadata);
    for (const s of ["a", "b", "c", "d", "e"]) await bifrost.append(LOG, [enc(s)]);
    const segment = await bifrost.sealAndExtend(LOG, LOCAL);
    assert.deepEqual(segment, { index: 1, baseLsn: 6, provider: "local", params: {} });
    assert.equal(await bifrost.findTail(LOG), 6);
    assert.equal(await bifrost.append(LOG, [enc("f"), enc("g")]), 7);
    assert.equal(await bifrost.append(LOG, [enc("h")]), 8);
    const expected = ["a", "b", "c", "d", "e", "f", "g", "h"].map((s, i) => [i + 1, s]);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(4), 10)), expected.slice(3));
    assert.deepEqual(show(await readAllLsns(bifrost, 1)), expected);

    // Retrying the same reconfiguration finds it done and seals nothing.
    assert.deepEqual(await bifrost.sealAndExtend(LOG, { ...LOCAL, sealIndex: 0 }), segment);
    assert.equal(await bifrost.append(LOG, [enc("i")]), 9);
    await bifrost.close();

    bifrost = await createLocalBifrost(dir, metadata);
    assert.equal(await bifrost.findTail(LOG), 10);
    assert.deepEqual(show(await readAllLsns(bifrost, 1)), [...expected, [9, "i"]]);
    assert.equal((await bifrost.getChain(LOG)).segments.length, 2);
    await bifrost.close();
  });

  it("moves appends that hit the seal to the new segment, without losing or duplicating any", async () => {
    const bifrost = await createLocalBifrost(fresh(), new InMemoryMetadataStore());
    await bifrost.append(LOG, [enc("first")]);
    const appends = Array.from({ length: 200 }, (_, i) => bifrost.append(LOG, [enc(`r${i}`)]));
    const extended = bifrost.sealAndExtend(LOG, LOCAL);
    const more = Array.from({ length: 50 }, (_, i) => bifrost.append(LOG, [enc(`m${i}`)]));
    const lsns = await Promise.all([...appends, ...more]);
    const segment = await extended;
    assert.deepEqual([...lsns].sort((a, b) => a - b), Array.from({ length: 250 }, (_, i) => i + 2));
    const byLsn = new Map((await readAllLsns(bifrost, 1)).map((e) => [e.lsn as number, isTrimGap(e) ? "gap" : dec(e.payload)]));
    lsns.forEach((lsn, i) => assert.equal(byLsn.get(lsn), i < 200 ? `r${i}` : `m${i - 200}`));
    assert.ok(segment.baseLsn >= 2 && segment.baseLsn <= 252);
    await bifrost.close();
  });

  it("keeps call order as log order when a seal's refusals arrive after the chain moved on: the refused appends go first on the next segment", async () => {
    const dir = fresh();
    await mkdir(dir, { recursive: true });
    // A replicated sequencer hears of a seal from its log servers, possibly after this node already
    // saw the new segment in the chain; the local loglet refuses at once, so delay its refusals.
    const local = new LocalLogletProvider(dir);
    const opened = new Map<Loglet, Loglet>();
    const lateRefusals: LogletProvider = {
      kind: "local",
      sealsOnlyHere: true,
      getLoglet: async (logId, segment) => {
        const loglet = await local.getLoglet(logId, segment);
        const known = opened.get(loglet);
        if (known !== undefined) return known;
        const late: Loglet = {
          id: loglet.id,
          append: (payloads) =>
            loglet.append(payloads).catch(async (e: unknown) => {
              if (e instanceof SealedError) await sleep(30);
              throw e;
            }),
          read: (from, limit) => loglet.read(from, limit),
          waitForTail: (offset, signal) => loglet.waitForTail(offset, signal),
          tailPast: (offset) => loglet.tailPast(offset),
          findTail: () => loglet.findTail(),
          seal: () => loglet.seal(),
          trim: (upTo) => loglet.trim(upTo),
          getTrimPoint: () => loglet.getTrimPoint(),
          close: () => loglet.close(),
        };
        opened.set(loglet, late);
        return late;
      },
      close: () => local.close(),
    };
    const bifrost = new BifrostImpl(new InMemoryMetadataStore(), [lateRefusals]);
    await bifrost.append(LOG, [enc("first")]);
    const issued: Promise<Lsn>[] = [];
    const wave = (name: string, count: number): void => {
      for (let i = 0; i < count; i++) issued.push(bifrost.append(LOG, [enc(`${name}${i}`)]));
    };
    wave("a", 50);
    const extended = bifrost.sealAndExtend(LOG, LOCAL);
    wave("b", 50);
    await extended;
    wave("c", 50);
    const lsns = await Promise.all(issued);
    for (let i = 1; i < lsns.length; i++) assert.ok(lsns[i] > lsns[i - 1], `append ${i} got LSN ${lsns[i]}, not above append ${i - 1}'s ${lsns[i - 1]}`);
    const names = (await readAllLsns(bifrost, 2)).map((e) => (isTrimGap(e) ? "gap" : dec(e.payload)));
    assert.deepEqual(names, ["a", "b", "c"].flatMap((w) => Array.from({ length: 50 }, (_, i) => `${w}${i}`)));
    await bifrost.close();
  });

  it("wakes a tail waiter whose LSN lands in the next segment", async () => {
    const bifrost = await createLocalBifrost(fresh(), new InMemoryMetadataStore());
    await bifrost.append(LOG, [enc("a"), enc("b")]);
    const waiting = bifrost.waitForTail(LOG, Lsn(3));
    await bifrost.sealAndExtend(LOG, LOCAL);
    await bifrost.append(LOG, [enc("c")]);
    assert.equal(await waiting, 4);
    const abort = new AbortController();
    const aborted = bifrost.waitForTail(LOG, Lsn(10), abort.signal);
    abort.abort(new Error("reader stopped"));
    await assert.rejects(aborted, /reader stopped/);
    await bifrost.close();
  });

  it("trims across segments with one merged gap and reports the trim point", async () => {
    const bifrost = await createLocalBifrost(fresh(), new InMemoryMetadataStore());
    await bifrost.append(LOG, [enc("1"), enc("2"), enc("3")]);
    await bifrost.sealAndExtend(LOG, LOCAL);
    await bifrost.append(LOG, [enc("4"), enc("5"), enc("6")]);
    assert.equal(await bifrost.getTrimPoint(LOG), 0);
    await bifrost.trim(LOG, Lsn(2));
    assert.equal(await bifrost.getTrimPoint(LOG), 2);
    await bifrost.trim(LOG, Lsn(4));
    assert.equal(await bifrost.getTrimPoint(LOG), 4);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(1), 10)), [{ gap: [1, 4] }, [5, "5"], [6, "6"]]);
    // With no room to look into the next segment, a gap ends at the segment boundary.
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(2), 1)), [{ gap: [2, 3] }]);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(4), 1)), [{ gap: [4, 4] }]);
    await bifrost.close();
  });

  it("creates different logs from two nodes racing on the same Logs document", async () => {
    const metadata = new InMemoryMetadataStore();
    const dir = fresh();
    const [a, b] = await Promise.all([createLocalBifrost(join(dir, "a"), metadata), createLocalBifrost(join(dir, "b"), metadata)]);
    const ids = Array.from({ length: 8 }, (_, i) => LogId(i));
    await Promise.all(ids.map((id) => (id % 2 === 0 ? a : b).append(id, [enc(`log ${id}`)])));
    const logs = decodeDocument<Logs>((await metadata.get(METADATA_KEYS.logs))!.value);
    assert.deepEqual(logs.logs.map((c) => c.logId).sort(), ids);
    await Promise.all([a.close(), b.close()]);
  });

  it("fails appends to a segment whose provider is not registered", async () => {
    const bifrost = await createLocalBifrost(fresh(), new InMemoryMetadataStore());
    await bifrost.append(LOG, [enc("a")]);
    await bifrost.sealAndExtend(LOG, { provider: "replicated", params: { nodeset: [1, 2, 3] } });
    await assert.rejects(bifrost.append(LOG, [enc("b")]), LogProviderUnavailableError);
    assert.deepEqual(show(await bifrost.read(LOG, Lsn(1), 1)), [[1, "a"]]);
    await bifrost.close();
  });
});
