import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { check, violations } from "../../chaos/checker.ts";
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
});
