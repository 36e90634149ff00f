import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { EtcdMetadataStore, MetadataBackendError } from "../../src/metadata/etcd-store.ts";
import type { MetadataStore } from "../../src/metadata/metadata-store.ts";
import { UnavailableError } from "../../src/types/errors.ts";
import { Version } from "../../src/types/ids.ts";
import { startEtcd, type EtcdServer } from "../support/etcd.ts";
import { eventually } from "../support/eventually.ts";
import { metadataConformance } from "./conformance.ts";

// Each client is its own etcd3 connection; each suite its own key prefix on the shared etcd.
const open = (etcd: EtcdServer, prefix: string, callTimeoutMs?: number): EtcdMetadataStore =>
  new EtcdMetadataStore({ endpoints: [etcd.endpoint], prefix, callTimeoutMs });

async function retryUnavailable<T>(op: () => Promise<T>, attempts = 100): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof UnavailableError) || i >= attempts) throw e;
      await sleep(50);
    }
  }
}

let etcd: EtcdServer;
before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  await etcd?.remove();
});

metadataConformance("etcd", async () => {
  const prefix = `/conformance-${randomUUID()}/`;
  return { client: async () => open(etcd, prefix), close: async () => undefined };
});

describe("EtcdMetadataStore against a real etcd", () => {
  const clients: MetadataStore[] = [];
  const client = (callTimeoutMs?: number): EtcdMetadataStore => {
    const c = open(etcd, `/etcd-specific-${randomUUID()}/`, callTimeoutMs);
    clients.push(c);
    return c;
  };
  after(async () => {
    for (const c of clients) await c.close();
  });

  it("keeps versions in etcd's per-key version, isolated by prefix", async () => {
    const a = client();
    const b = client();
    assert.equal(await a.put("doc", Buffer.from("1"), { kind: "does-not-exist" }), Version(1));
    // Writes to other keys move etcd's global revision, not this key's version.
    await b.put("doc", Buffer.from("other"), { kind: "none" });
    await a.put("unrelated", Buffer.from("x"), { kind: "none" });
    assert.equal(await a.put("doc", Buffer.from("2"), { kind: "matches", version: Version(1) }), Version(2));
    assert.equal((await b.get("doc"))?.version, Version(1));
  });

  it("refuses what etcd can never accept with a terminal error", async () => {
    const unprefixed = new EtcdMetadataStore({ endpoints: [etcd.endpoint] });
    clients.push(unprefixed);
    const terminal = (e: unknown) => e instanceof MetadataBackendError && e.code === "metadata_backend_error" && !e.retryable;
    await assert.rejects(unprefixed.get(""), terminal);
    await assert.rejects(client().put("huge", new Uint8Array(2 * 1024 * 1024), { kind: "none" }), terminal);
  });

  it("a watch on one client sees changes made through another, including from a fresh client", async () => {
    const prefix = `/cross-${randomUUID()}/`;
    const watcherClient = open(etcd, prefix);
    const writer = open(etcd, prefix);
    clients.push(watcherClient, writer);
    const seen: Array<number | null> = [];
    // The watching client has made no call yet: its watch starts from a read of the key.
    const stop = watcherClient.watch("doc", (e) => seen.push(e.value?.version ?? null));
    await writer.put("doc", Buffer.from("a"), { kind: "none" });
    await writer.put("doc", Buffer.from("b"), { kind: "none" });
    await writer.delete("doc", { kind: "none" });
    await eventually(() => {
      assert.deepEqual(seen.slice(seen.indexOf(1)), [1, 2, null]);
      return true;
    });
    stop();
  });

  it("fails fast with a retryable UnavailableError while etcd is down, recovers after it restarts, and the watch resumes", async () => {
    const store = client(1_000);
    await store.put("doc", Buffer.from("before"), { kind: "none" });
    const seen: string[] = [];
    const stop = store.watch("doc", (e) => seen.push(e.value ? Buffer.from(e.value.value).toString() : "deleted"));
    await store.put("doc", Buffer.from("watched"), { kind: "none" });
    await eventually(() => {
      assert.ok(seen.includes("watched"));
      return true;
    });

    await etcd.stop();
    const started = Date.now();
    for (const op of [() => store.get("doc"), () => store.put("doc", Buffer.from("x"), { kind: "matches", version: Version(2) })]) {
      await assert.rejects(op(), (e) => e instanceof UnavailableError && e.retryable && e.code === "metadata_unavailable");
    }
    assert.ok(Date.now() - started < 5_000, "bounded by the call timeout");

    await etcd.restart();
    // The client reconnects on its own; the first calls may still race the reconnect.
    const version = await retryUnavailable(() => store.put("doc", Buffer.from("after"), { kind: "matches", version: Version(2) }));
    assert.equal(version, Version(3), "nothing was applied while etcd was down");
    await eventually(() => {
      assert.equal(seen.at(-1), "after");
      return true;
    }, 10_000);
    stop();
  });
});
