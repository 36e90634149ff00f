import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { Lsn } from "../../src/types/ids.ts";
import { fileStore } from "./fixtures.ts";

describe("partition store file space", () => {
  it("gives space freed by deletions back to the file system", (t) => {
    const store = fileStore(t);
    const value = Buffer.alloc(2_000, 7);
    store.write((tx) => {
      for (let i = 0; i < 5_000; i++) tx.setStateValue("S", `k${i}`, "v", value);
      tx.setAppliedLsn(Lsn(1));
    });
    const pagesOf = () => {
      const db = new Database(store.path, { readonly: true });
      try {
        return db.pragma("page_count", { simple: true }) as number;
      } finally {
        db.close();
      }
    };
    const full = pagesOf();
    for (let i = 0; i < 5_000; i += 500) {
      store.write((tx) => {
        for (let j = i; j < i + 500; j++) tx.clearStateValue("S", `k${j}`, "v");
      });
    }
    // A few writes give back the rest, a bounded amount each.
    for (let n = 0; n < 4; n++) store.write((tx) => tx.setAppliedLsn(Lsn(2 + n)));
    const emptied = pagesOf();
    assert.ok(full > 2_000, `filled ${full} pages`);
    assert.ok(emptied < full / 10, `${emptied} pages left of ${full}`);
  });
});
