import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { PreconditionFailedError, type MetadataStore, type MetadataWatchEvent } from "../../src/metadata/metadata-store.ts";
import { readModifyWrite, type DocumentCodec } from "../../src/metadata/read-modify-write.ts";
import { Version } from "../../src/types/ids.ts";
import { eventually } from "../support/eventually.ts";

/** The store under test, as the suite sees it. */
export interface ConformanceBackend {
  /**
   * A client of the one backing store. Backends with real clients (etcd, a SQLite file) return a
   * new, independent client per call; the suite closes the clients it gets.
   */
  client(): Promise<MetadataStore>;
  /** Stops whatever the backend started. */
  close(): Promise<void>;
}

const enc = (s: string): Uint8Array => Buffer.from(s, "utf8");
const dec = (b: Uint8Array): string => Buffer.from(b).toString("utf8");

const COUNTER: DocumentCodec<number> = { encode: (n) => enc(String(n)), decode: (b) => Number(dec(b)) };

function isPreconditionFailed(current: number | null): (e: unknown) => boolean {
  return (e) => e instanceof PreconditionFailedError && e.currentVersion === current && e.retryable && e.code === "precondition_failed";
}

/** What watch events say, as `v<version>=<value>` or `deleted`. */
const describeEvent = (e: MetadataWatchEvent): string => (e.value ? `v${e.value.version}=${dec(e.value.value)}` : "deleted");

/**
 * The events from the first one equal to `first` on. Backends may deliver what was current when the
 * watch started before the changes made after it; everything from the first change on is exact.
 */
function fromFirst(events: readonly string[], first: string): string[] {
  const i = events.indexOf(first);
  return i < 0 ? [] : events.slice(i);
}

/** One suite for every `MetadataStore` backend. */
export function metadataConformance(name: string, open: () => Promise<ConformanceBackend>): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let backend: ConformanceBackend;
    let store: MetadataStore;
    const clients: MetadataStore[] = [];
    const newClient = async (): Promise<MetadataStore> => {
      const c = await backend.client();
      clients.push(c);
      return c;
    };
    // Every test uses its own keys, so tests share one backing store.
    const run = randomUUID().slice(0, 8);
    let n = 0;
    const freshKey = (): string => `conformance/${run}/${++n}`;

    before(async () => {
      backend = await open();
      store = await newClient();
    });
    after(async () => {
      for (const c of clients) await c.close();
      await backend.close();
    });

    it("returns null for an absent key", async () => {
      assert.equal(await store.get(freshKey()), null);
    });

    it("creates at version 1 and refuses a second create with the current version", async () => {
      const key = freshKey();
      assert.equal(await store.put(key, enc("a"), { kind: "does-not-exist" }), Version(1));
      await assert.rejects(store.put(key, enc("b"), { kind: "does-not-exist" }), isPreconditionFailed(1));
      const got = await store.get(key);
      assert.equal(got?.version, Version(1));
      assert.equal(dec(got!.value), "a");
    });

    it("stores arbitrary bytes unchanged", async () => {
      const key = freshKey();
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await store.put(key, bytes, { kind: "none" });
      assert.deepEqual((await store.get(key))?.value, bytes);
    });

    it("puts when the version matches and refuses a stale or absent one with the current version", async () => {
      const key = freshKey();
      await assert.rejects(store.put(key, enc("x"), { kind: "matches", version: Version(1) }), isPreconditionFailed(null));
      assert.equal(await store.put(key, enc("v1"), { kind: "none" }), Version(1));
      assert.equal(await store.put(key, enc("v2"), { kind: "matches", version: Version(1) }), Version(2));
      await assert.rejects(store.put(key, enc("stale"), { kind: "matches", version: Version(1) }), isPreconditionFailed(2));
      assert.equal(await store.put(key, enc("v3"), { kind: "none" }), Version(3));
      const got = await store.get(key);
      assert.deepEqual([got?.version, dec(got!.value)], [Version(3), "v3"]);
    });

    it("deletes under a precondition", async () => {
      const key = freshKey();
      await store.delete(key, { kind: "does-not-exist" });
      await store.put(key, enc("a"), { kind: "none" });
      await store.put(key, enc("b"), { kind: "none" });
      await assert.rejects(store.delete(key, { kind: "does-not-exist" }), isPreconditionFailed(2));
      await assert.rejects(store.delete(key, { kind: "matches", version: Version(1) }), isPreconditionFailed(2));
      assert.equal((await store.get(key))?.version, Version(2), "a refused delete changes nothing");
      await store.delete(key, { kind: "matches", version: Version(2) });
      assert.equal(await store.get(key), null);
      await assert.rejects(store.delete(key, { kind: "matches", version: Version(2) }), isPreconditionFailed(null));
      // A recreated key starts again at version 1.
      assert.equal(await store.put(key, enc("again"), { kind: "does-not-exist" }), Version(1));
      await store.delete(key, { kind: "none" });
      assert.equal(await store.get(key), null);
    });

    it("watch sees puts and deletes of its key, in order, until stopped", async () => {
      const key = freshKey();
      const other = freshKey();
      const events: string[] = [];
      const otherEvents: MetadataWatchEvent[] = [];
      const stop = store.watch(key, (e) => events.push(e.key === key ? describeEvent(e) : `event of ${e.key}`));
      const stopOther = store.watch(other, (e) => otherEvents.push(e));
      await store.put(key, enc("one"), { kind: "does-not-exist" });
      await store.put(key, enc("two"), { kind: "matches", version: Version(1) });
      await store.delete(key, { kind: "matches", version: Version(2) });
      await store.put(key, enc("three"), { kind: "none" });
      const expected = ["v1=one", "v2=two", "deleted", "v1=three"];
      await eventually(() => {
        assert.deepEqual(fromFirst(events, "v1=one"), expected);
        return true;
      });
      assert.ok(
        otherEvents.every((e) => e.value === null),
        "no event of another key (at most the absent value it started with)",
      );
      stop();
      stopOther();
      await store.put(key, enc("after-stop"), { kind: "none" });
      // A later watch's first event proves the stopped one had its chance to (wrongly) deliver.
      const later: string[] = [];
      const stopLater = store.watch(key, (e) => later.push(describeEvent(e)));
      await store.put(key, enc("last"), { kind: "none" });
      await eventually(() => {
        assert.ok(later.includes("v3=last"));
        return true;
      });
      stopLater();
      assert.deepEqual(fromFirst(events, "v1=one"), expected);
    });

    it("50 concurrent compare-and-swap increments from several clients lose no update", async () => {
      const key = freshKey();
      const writers = await Promise.all(Array.from({ length: 5 }, () => newClient()));
      await store.put(key, COUNTER.encode(0), { kind: "does-not-exist" });
      let conflicts = 0;
      const increment = async (client: MetadataStore): Promise<void> => {
        for (;;) {
          const current = (await client.get(key))!;
          try {
            await client.put(key, COUNTER.encode(COUNTER.decode(current.value) + 1), { kind: "matches", version: current.version });
            return;
          } catch (e) {
            if (!(e instanceof PreconditionFailedError)) throw e;
            conflicts++;
          }
        }
      };
      await Promise.all(Array.from({ length: 50 }, (_, i) => increment(writers[i % writers.length])));
      const final = (await store.get(key))!;
      assert.equal(COUNTER.decode(final.value), 50);
      assert.equal(final.version, Version(51), "one version per successful put");
      assert.ok(conflicts > 0, "the increments really raced");
    });

    it("readModifyWrite converges under contention and writes nothing when unchanged", async () => {
      const key = freshKey();
      const writers = await Promise.all(Array.from({ length: 3 }, () => newClient()));
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => readModifyWrite(writers[i % writers.length], key, COUNTER, (n) => (n ?? 0) + 1)),
      );
      assert.deepEqual(results.map((r) => r.value).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
      const unchanged = await readModifyWrite(store, key, COUNTER, () => "unchanged");
      assert.deepEqual(unchanged, { value: 12, version: Version(12) });
      assert.equal((await store.get(key))?.version, Version(12));
    });
  });
}
