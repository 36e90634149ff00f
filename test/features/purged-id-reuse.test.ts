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

/**
 * An id derived from an idempotency key is used again after an operator purged its first
 * invocation. The first one's retention timer was due soon, the second one's is far off (its
 * service's idempotency retention was raised meanwhile): the first timer must not end the second.
 */
describe("a purged invocation id invoked again", () => {
  let fixture: Fixture;

  before(async () => {
    fixture = await startFixture({ services: [charge] });
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
});
