import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import type { InvocationId } from "../../src/types/ids.ts";

let runs = 0;

const charge = restate.service({
  name: "Charge",
  handlers: {
    once: async (ctx: restate.Context, amount: number) => {
      const n = await ctx.run("charge", () => ++runs);
      return { amount, run: n };
    },
  },
});

const FIRST_RETENTION_MS = 1_500;
const FIRST_SLEEP_MS = 2_500;

/** Awakeable ids by call; a "sleep" call first sleeps (completion 1), a "wait" call only waits. */
const awakeables = new Map<string, string>();

const napper = restate.service({
  name: "Napper",
  handlers: {
    nap: async (ctx: restate.Context, mode: "sleep" | "wait") => {
      if (mode === "sleep") await ctx.sleep(FIRST_SLEEP_MS);
      const { id, promise } = ctx.awakeable<string>();
      awakeables.set(mode, id);
      return `${mode}: ${await promise}`;
    },
  },
});

/**
 * An id derived from an idempotency key is used again after an operator purged its first
 * invocation. The first one's retention timer was due soon, the second one's is far off (its
 * service's idempotency retention was raised meanwhile): the first timer must not end the second.
 */
describe("a purged invocation id invoked again", () => {
  let fixture: Fixture;

  before(async () => {
    fixture = await startFixture({ services: [charge, napper] });
  });
  after(() => fixture?.stop());

  const setRetention = async (retention: string) => {
    const res = await fetch(`${fixture.admin}/services/Charge`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ idempotency_retention: retention }),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const chargeOnce = async (): Promise<{ id: string; body: { amount: number; run: number } }> => {
    const res = await callJson(fixture.ingress, "/Charge/once", 5, { "idempotency-key": "order-7" });
    assert.equal(res.status, 200);
    const id = res.headers.get("x-restate-id");
    assert.ok(id, "the ingress names the invocation");
    return { id, body: (await res.json()) as { amount: number; run: number } };
  };
  const status = (id: string) => fixture.node.dispatcher.status(id as InvocationId);

  it("keeps the new invocation, its journal and its idempotency key past the old incarnation's retention", async () => {
    await setRetention(`${FIRST_RETENTION_MS}ms`);
    const first = await chargeOnce();
    assert.equal(first.body.run, 1);
    const purge = await fetch(`${fixture.admin}/invocations/${first.id}/purge`, { method: "PATCH" });
    assert.equal(purge.status, 200, await purge.text());
    await eventually(() => status(first.id) === null, 5_000, "the purge to apply");

    await setRetention("1h");
    const second = await chargeOnce();
    assert.equal(second.id, first.id, "the idempotency key names the same id again");
    assert.equal(second.body.run, 2, "the purged request runs afresh");
    assert.equal(status(second.id)?.completionRetentionMs, 3_600_000);

    // Past the first incarnation's cleanup time (and the leader's timer tick), with room to spare.
    await sleep(FIRST_RETENTION_MS + 1_500);
    assert.equal(status(second.id)?.status, "completed", "the second invocation is still retained");
    assert.ok((status(second.id)?.journalLength ?? 0) > 0, "its journal too");
    const again = await chargeOnce();
    assert.deepEqual(again.body, second.body, "the idempotency key still answers the second invocation's result");
    assert.equal(runs, 2, "nothing ran a third time");
  });

  it("a sleep pending when the old invocation was killed never wakes the new one", async () => {
    const send = async (mode: string): Promise<string> => {
      const res = await callJson(fixture.ingress, "/Napper/nap/send", mode, { "idempotency-key": "nap-1" });
      assert.equal(res.status, 202, await res.clone().text());
      return ((await res.json()) as { invocationId: string }).invocationId;
    };
    const patch = async (path: string) => {
      const res = await fetch(`${fixture.admin}${path}`, { method: "PATCH" });
      assert.equal(res.status, 200, await res.text());
    };
    const sentAt = Date.now();
    const first = await send("sleep");
    // Input and sleep journaled: the sleep's timer is set.
    await eventually(() => (status(first)?.journalLength ?? 0) >= 2, 5_000, "the first invocation to journal its sleep");
    await patch(`/invocations/${first}/kill`);
    await eventually(() => status(first)?.status === "completed", 5_000, "the kill to apply");
    await patch(`/invocations/${first}/purge`);
    await eventually(() => status(first) === null, 5_000, "the purge to apply");

    const second = await send("wait");
    assert.equal(second, first, "the idempotency key names the same id again");
    await eventually(() => awakeables.has("wait"), 5_000, "the second invocation to wait on its awakeable");
    const journalLength = status(second)?.journalLength;

    // Past the killed sleep's wake-up time (and the leader's timer tick), with room to spare.
    await sleep(Math.max(0, sentAt + FIRST_SLEEP_MS + 1_500 - Date.now()));
    assert.equal(status(second)?.journalLength, journalLength, "nothing was delivered to the second invocation");
    const resolve = await fetch(`${fixture.ingress}/restate/awakeables/${awakeables.get("wait")}/resolve`, { method: "POST", body: '"done"' });
    assert.equal(resolve.status, 202);
    const res = await callJson(fixture.ingress, "/Napper/nap", "wait", { "idempotency-key": "nap-1" });
    assert.equal(res.status, 200);
    assert.equal(await res.json(), "wait: done");
  });
});
