import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as restate from "@restatedev/restate-sdk";
import { loadConfig } from "../../src/cluster/config.ts";
import { BadRequestError } from "../../src/types/errors.ts";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";

const LIMIT = 2;
const INVOCATIONS = 6;
let running = 0;
let mostAtOnce = 0;
let finished = 0;

/** Each run holds its attempt open for a while, so attempts started together overlap. */
const hold = restate.service({
  name: "Hold",
  handlers: {
    run: async (ctx: restate.Context) => {
      await ctx.run("hold", async () => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        await sleep(200);
        running--;
      });
      finished++;
    },
  },
});

describe("invoker: concurrent invocations limit", () => {
  let fixture: Fixture;
  before(async () => {
    fixture = await startFixture({ services: [hold], config: { invoker: { concurrentInvocationsLimit: LIMIT } } });
  });
  after(() => fixture.stop());

  it(`runs at most ${LIMIT} attempts at once and the invocations beyond the limit after them, all of them`, async () => {
    const sends = await Promise.all(Array.from({ length: INVOCATIONS }, () => fetch(`${fixture.ingress}/Hold/run/send`, { method: "POST" })));
    assert.deepEqual(sends.map((r) => r.status), Array(INVOCATIONS).fill(202));
    await eventually(() => finished === INVOCATIONS, 20_000, `all ${INVOCATIONS} invocations to finish (${finished} did)`);
    // Exactly the limit: the attempts did run side by side, and never more of them.
    assert.equal(mostAtOnce, LIMIT);
  });

  it("refuses a limit that is not a positive integer, naming the setting", () => {
    for (const bad of [0, -1, 1.5]) {
      assert.throws(
        () => loadConfig({ overrides: { invoker: { concurrentInvocationsLimit: bad } } }),
        (e: unknown) => e instanceof BadRequestError && /invoker\.concurrent_invocations_limit must be a positive integer/.test(e.message),
      );
    }
    assert.equal(loadConfig().invoker.concurrentInvocationsLimit, 1000);
  });
});
