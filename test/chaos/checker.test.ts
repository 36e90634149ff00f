import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { acksWhileHeld, check, violations } from "../../chaos/checker.ts";
import type { OpRecord } from "../../chaos/workload.ts";

const op = (key: string, element: string, outcome: OpRecord["outcome"]): OpRecord => ({ key, element, outcome, attempts: 1, startedAt: 0, endedAt: 1 });

describe("chaos checker", () => {
  it("finds acknowledged adds that are missing, adds applied twice, elements nobody sent and objects it could not read", () => {
    const ops = [
      op("a", "x1", "acked"),
      op("a", "x2", "acked"), // lost
      op("a", "x3", "acked"), // applied twice
      op("a", "x4", "indeterminate"), // applied without an answer
      op("b", "y1", "indeterminate"), // not applied
      op("b", "y2", "rejected"),
      op("c", "z1", "acked"), // its object could not be read: not judged
    ];
    const lists = new Map<string, string[] | null>([
      ["a", ["x1", "x3", "x4", "x3", "ghost"]],
      ["b", []],
      ["c", null],
    ]);
    const result = check(ops, lists);
    assert.deepEqual(result, {
      attempted: 7,
      acked: 4,
      lost: ["x2"],
      duplicated: ["x3"],
      indeterminate: 3,
      indeterminateApplied: 1,
      rejected: 1,
      unexpected: ["ghost"],
      unreadable: ["c"],
    });
    assert.equal(violations(result).length, 4);
  });

  it("passes a history where every acknowledged add is present once", () => {
    const result = check([op("a", "x1", "acked"), op("a", "x2", "indeterminate")], new Map([["a", ["x1"]]]));
    assert.deepEqual(violations(result), []);
    assert.equal(result.indeterminateApplied, 0);
  });

  it("counts a fault's acks by ingress and finds the longest stretch without any, edges included", () => {
    const acked = (endedAt: number, ackedVia: string, outcome: OpRecord["outcome"] = "acked"): OpRecord => ({ ...op("k", `e${endedAt}`, outcome), endedAt, ackedVia });
    const ops = [acked(90, "n1"), acked(1_300, "n2"), acked(1_500, "n1"), acked(1_600, "n3", "indeterminate"), acked(4_000, "n2"), acked(6_000, "n1")];
    const held = acksWhileHeld(ops, 100, 5_000);
    assert.equal(held.total, 3);
    assert.deepEqual([...held.byIngress].sort(), [["n1", 1], ["n2", 2]]);
    assert.equal(held.longestGapMs, 2_500, "between 1.5 s and 4 s");
    assert.deepEqual(acksWhileHeld([], 0, 3_000), { total: 0, byIngress: new Map(), longestGapMs: 3_000 });
  });
});
