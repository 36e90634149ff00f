import { test } from "node:test";
import assert from "node:assert/strict";
import { FailureDetector } from "../../src/cluster/failure-detector.ts";
import { PlainNodeId } from "../../src/types/ids.ts";

const n2 = PlainNodeId(2);
const n3 = PlainNodeId(3);

test("alive while answering, suspect after a short silence, dead after a long one, alive again on an answer", () => {
  const fd = new FailureDetector({ suspectAfterMs: 1_000, deadAfterMs: 3_000 });
  fd.track([n2], 0);
  assert.equal(fd.stateOf(n2, 0), "suspect", "never heard from yet");
  fd.heard(n2, 100);
  assert.equal(fd.stateOf(n2, 500), "alive");
  assert.equal(fd.stateOf(n2, 1_200), "suspect");
  assert.equal(fd.stateOf(n2, 3_100), "dead");
  const dead = fd.health(3_200).find((h) => h.node === n2)!;
  assert.equal(dead.since, 3_100);
  assert.equal(dead.lastSeen, 100);
  fd.heard(n2, 4_000);
  assert.equal(fd.stateOf(n2, 4_000), "alive");
});

test("a node that never answers is dead after the dead timeout counted from when it was tracked", () => {
  const fd = new FailureDetector({ suspectAfterMs: 1_000, deadAfterMs: 3_000 });
  fd.track([n2], 10_000);
  assert.equal(fd.stateOf(n2, 12_999), "suspect");
  assert.equal(fd.stateOf(n2, 13_000), "dead");
});

test("tracking follows membership; answers from untracked nodes are ignored", () => {
  const fd = new FailureDetector();
  fd.track([n2, n3], 0);
  fd.track([n3], 10);
  fd.heard(n2, 20);
  assert.equal(fd.stateOf(n2, 20), null);
  assert.deepEqual(fd.health(20).map((h) => h.node), [n3]);
});
