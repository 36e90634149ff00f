import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { EmbeddedMetadataStore } from "../../src/metadata/embedded-store.ts";
import { PreconditionFailedError } from "../../src/metadata/metadata-store.ts";
import { UnavailableError } from "../../src/types/errors.ts";
import { Version } from "../../src/types/ids.ts";
import { spawnNodeChild } from "../support/process.ts";
import { tempDir } from "../support/temp.ts";
import { metadataConformance } from "./conformance.ts";

const tmp = tempDir("reprise-embedded-metadata-");
after(() => tmp.remove());

// Each client is its own SQLite connection to the one file.
metadataConformance("embedded (SQLite)", async () => {
  const file = join(tmp.path, "conformance", "metadata.db");
  return { client: async () => new EmbeddedMetadataStore(file), close: async () => undefined };
});

describe("EmbeddedMetadataStore durability", () => {
  it("keeps values and versions across a reopen, and CAS continues from them", async () => {
    const file = join(tmp.path, "reopen", "metadata.db");
    const first = new EmbeddedMetadataStore(file);
    await first.put("doc", Buffer.from("a"), { kind: "does-not-exist" });
    await first.put("doc", Buffer.from("b"), { kind: "matches", version: Version(1) });
    await first.put("gone", Buffer.from("x"), { kind: "none" });
    await first.delete("gone", { kind: "none" });
    await first.close();

    const second = new EmbeddedMetadataStore(file);
    try {
      const doc = await second.get("doc");
      assert.deepEqual([doc?.version, Buffer.from(doc!.value).toString()], [Version(2), "b"]);
      assert.equal(await second.get("gone"), null);
      await assert.rejects(second.put("doc", Buffer.from("stale"), { kind: "matches", version: Version(1) }), PreconditionFailedError);
      assert.equal(await second.put("doc", Buffer.from("c"), { kind: "matches", version: Version(2) }), Version(3));
    } finally {
      await second.close();
    }
  });

  it("every put acknowledged before a kill -9 is there after reopening", async () => {
    const file = join(tmp.path, "crash", "metadata.db");
    const child = spawnNodeChild(fileURLToPath(new URL("./embedded-writer-child.ts", import.meta.url)), [file]);
    const acked = (await child.waitFor((e) => e.event === "ack" && (e.version as number) >= 50)).version as number;
    await child.kill("SIGKILL");
    const store = new EmbeddedMetadataStore(file);
    try {
      const stored = await store.get("counter");
      assert.ok(stored !== null && stored.version >= acked, `stored version ${stored?.version} covers acknowledged ${acked}`);
      assert.equal(Number(Buffer.from(stored.value).toString()), stored.version, "value and version written together");
    } finally {
      await store.close();
    }
  });

  it("refuses calls after close with a typed error", async () => {
    const store = new EmbeddedMetadataStore(join(tmp.path, "closed", "metadata.db"));
    await store.close();
    await assert.rejects(store.get("doc"), (e) => e instanceof UnavailableError && e.code === "metadata_store_closed");
  });

  it("a watcher that throws does not fail the durable put", async () => {
    const store = new EmbeddedMetadataStore(join(tmp.path, "watcher", "metadata.db"));
    try {
      store.watch("doc", () => {
        throw new Error("watcher bug");
      });
      assert.equal(await store.put("doc", Buffer.from("a"), { kind: "none" }), Version(1));
    } finally {
      await store.close();
    }
  });
});
