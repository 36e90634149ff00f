import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { stateVersion } from "../../../src/partition/state-version.ts";
import { TestPartition, bytes, object, request } from "./harness.ts";

describe("state machine: operator state edits (patch-state)", () => {
  let p: TestPartition;
  beforeEach(() => (p = new TestPartition()));
  afterEach(() => p.close());

  const state = (key: string) => Object.fromEntries([...p.read((tx) => tx.getState("Counter", key))].map(([k, v]) => [k, Buffer.from(v).toString()]));
  const seed = (key: string, entries: Record<string, string>) =>
    p.apply({ t: "patch-state", service: "Counter", key, state: Object.entries(entries).map(([k, v]) => ({ key: k, value: bytes(v) })) });

  it("replaces the whole state of a free key", () => {
    seed("k", { a: "1", b: "2" });
    assert.deepEqual(state("k"), { a: "1", b: "2" });
    seed("k", { c: "3" });
    assert.deepEqual(state("k"), { c: "3" });
    seed("k", {});
    assert.deepEqual(state("k"), {});
  });

  it("applies only when the state still has the version the edit names", () => {
    seed("k", { a: "1" });
    const version = stateVersion([{ key: "a", value: bytes("1") }]);
    p.apply({ t: "patch-state", service: "Counter", key: "k", state: [{ key: "a", value: bytes("9") }], version: "stale" });
    assert.deepEqual(state("k"), { a: "1" });
    p.apply({ t: "patch-state", service: "Counter", key: "k", state: [{ key: "a", value: bytes("2") }], version });
    assert.deepEqual(state("k"), { a: "2" });
  });

  it("leaves a key an invocation holds alone", () => {
    seed("k", { a: "1" });
    const holder = request(object("k"));
    p.invoke(holder);
    assert.equal(p.read((tx) => tx.getKeyLock("Counter", "k")), holder.id);
    assert.deepEqual(p.apply({ t: "patch-state", service: "Counter", key: "k", state: [] }), []);
    assert.deepEqual(state("k"), { a: "1" });
  });
});
