import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compareStores, describeDifference } from "../../src/storage/compare.ts";
import { Lsn } from "../../src/types/ids.ts";
import { fileStore, invocation, invocationId } from "./fixtures.ts";

const NAMES = { left: "live", right: "rebuilt" };

describe("compareStores: every table, row by row in key order", () => {
  it("finds two stores with the same rows identical", (t) => {
    const [a, b] = [fileStore(t), fileStore(t)];
    const id = invocationId();
    for (const store of [a, b]) {
      store.write((tx) => {
        tx.putInvocation(invocation(id, "invoked"));
        tx.setStateValue("Counter", "k1", "value", Buffer.from("1"));
        tx.setAppliedLsn(Lsn(3));
      });
    }
    assert.equal(a.read((l) => b.read((r) => compareStores(l, r))), null);
  });

  it("names the first row that differs, a column's two values, and rows only one side has", (t) => {
    const [a, b] = [fileStore(t), fileStore(t)];
    for (const [store, value] of [[a, "1"], [b, "2"]] as const) {
      store.write((tx) => {
        tx.setStateValue("Counter", "k1", "same", Buffer.from("x"));
        tx.setStateValue("Counter", "k2", "value", Buffer.from(value));
      });
    }
    const changed = a.read((l) => b.read((r) => compareStores(l, r)));
    assert.deepEqual(changed && changed.kind === "row" && { table: changed.table, key: changed.key, columns: changed.columns }, {
      table: "state",
      key: { service: "Counter", obj_key: "k2", state_key: "value" },
      columns: ["value"],
    });
    assert.equal(describeDifference(changed!, NAMES), "table state, row (service='Counter', obj_key='k2', state_key='value'): value: live x'31', rebuilt x'32'");

    b.write((tx) => tx.setStateValue("Counter", "k0", "extra", Buffer.from("e")));
    const extra = a.read((l) => b.read((r) => compareStores(l, r)))!;
    assert.equal(describeDifference(extra, NAMES), "table state, row (service='Counter', obj_key='k0', state_key='extra'): only in the rebuilt store");
    const missing = b.read((l) => a.read((r) => compareStores(l, r)))!;
    assert.equal(describeDifference(missing, NAMES), "table state, row (service='Counter', obj_key='k0', state_key='extra'): only in the live store");
  });

  it("orders keys as SQLite does, so a longer key after a shorter one is not taken as missing", (t) => {
    const [a, b] = [fileStore(t), fileStore(t)];
    for (const store of [a, b]) {
      store.write((tx) => {
        for (const key of ["a", "a\u00e9", "ab", "b", "\u{1f600}", "\uffff"]) tx.setStateValue("S", key, "v", Buffer.from(key));
      });
    }
    assert.equal(a.read((l) => b.read((r) => compareStores(l, r))), null);
  });
});
