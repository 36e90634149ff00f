import { test } from "node:test";
import assert from "node:assert/strict";
import { pino } from "pino";
import { ControllerLease, CONTROLLER_KEY } from "../../src/cluster/controller-lease.ts";
import { InMemoryMetadataStore } from "../../src/metadata/memory-store.ts";
import { PlainNodeId, type GenerationalNodeId } from "../../src/types/ids.ts";
import { LossyMetadataStore } from "../metadata/lossy-store.ts";

const log = pino({ level: "silent" });
const node = (id: number, generation = 1): GenerationalNodeId => ({ id: PlainNodeId(id), generation });
const timings = { renewMs: 500, takeoverAfterMs: 4_000 };

function clock() {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

test("one controller: the first claims, the others wait while it renews", async () => {
  const store = new InMemoryMetadataStore();
  const c = clock();
  const a = new ControllerLease(store, node(1), log, timings, c.now);
  const b = new ControllerLease(store, node(2), log, timings, c.now);
  await a.tick();
  for (let i = 0; i < 20; i++) {
    c.advance(500);
    await b.tick();
    await a.tick();
    assert.equal(a.isController, true);
    assert.equal(b.isController, false);
  }
  assert.equal(a.term, 1);
});

test("a silent holder is replaced after the takeover time, by the next term, and stops acting before that", async () => {
  const store = new InMemoryMetadataStore();
  const c = clock();
  const a = new ControllerLease(store, node(1), log, timings, c.now);
  const b = new ControllerLease(store, node(2), log, timings, c.now);
  let acquiredByB = 0;
  b.onAcquired(() => acquiredByB++);
  await a.tick();
  await b.tick();
  c.advance(2_000);
  assert.equal(a.isController, false, "without renewals the holder stops acting after half the takeover time");
  await b.tick();
  assert.equal(b.isController, false, "the claim has not been unchanged long enough yet");
  c.advance(2_000);
  await b.tick();
  assert.equal(b.isController, true);
  assert.equal(b.term, 2);
  assert.equal(acquiredByB, 1, "told once, when it took over (the controller then acts at once)");
  c.advance(500);
  await b.tick();
  assert.equal(acquiredByB, 1, "a renewal is no new acquisition");
  // The old holder comes back: its claim is gone, it follows.
  await a.tick();
  assert.equal(a.isController, false);
  assert.equal(a.term, 2);
});

test("a renewal whose answer was lost converges: the holder recognises its own claim", async () => {
  const inner = new InMemoryMetadataStore();
  const lossy = new LossyMetadataStore(inner);
  const c = clock();
  const a = new ControllerLease(lossy, node(1), log, timings, c.now);
  lossy.dropAnswers = 1;
  await a.tick();
  assert.equal(a.isController, false, "the claim was written but the answer lost");
  c.advance(500);
  await a.tick();
  assert.equal(a.isController, true);
  assert.equal(a.term, 1);
  const stored = await inner.get(CONTROLLER_KEY);
  assert.equal(JSON.parse(Buffer.from(stored!.value).toString()).node.id, 1);
});

test("a restarted node (new generation) does not mistake its old claim for its own", async () => {
  const store = new InMemoryMetadataStore();
  const c = clock();
  await new ControllerLease(store, node(1, 1), log, timings, c.now).tick();
  const restarted = new ControllerLease(store, node(1, 2), log, timings, c.now);
  await restarted.tick();
  assert.equal(restarted.isController, false);
  c.advance(4_000);
  await restarted.tick();
  assert.equal(restarted.isController, true);
  assert.equal(restarted.term, 2);
});
