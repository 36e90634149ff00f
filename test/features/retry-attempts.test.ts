import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import type { InvocationId } from "../../src/types/ids.ts";

// Attempts per invocation tag, counted outside the server.
const attempts = new Map<string, number>();

/**
 * Every attempt journals one step more than the one before (replaying the earlier ones), then
 * fails: each failed attempt made progress.
 */
async function progressThenFail(ctx: restate.Context, tag: string): Promise<never> {
  const attempt = (attempts.get(tag) ?? 0) + 1;
  attempts.set(tag, attempt);
  for (let step = 1; step < attempt; step++) await ctx.run(`step ${step}`, () => step);
  await ctx.run(`step ${attempt}`, () => attempt);
  throw new Error(`attempt ${attempt} of ${tag} fails after its step`);
}

const progressing = restate.service({
  name: "Progressing",
  handlers: {
    pauseAfterThree: restate.handlers.handler({ retryPolicy: { maxAttempts: 3, onMaxAttempts: "pause", initialInterval: 10 } }, progressThenFail),
    // A quick first retry, then one far off: the test looks at it while it backs off.
    slowSecondRetry: restate.handlers.handler(
      { retryPolicy: { initialInterval: 10, exponentiationFactor: 10_000, maxInterval: 600_000 } },
      progressThenFail,
    ),
  },
});

describe("retry policies count every attempt of an invocation", () => {
  let fixture: Fixture;

  before(async () => {
    fixture = await startFixture({ services: [progressing] });
  });
  after(() => fixture?.stop());

  const send = async (path: string, tag: string): Promise<string> => {
    const res = await callJson(fixture.ingress, path, tag);
    assert.equal(res.status, 202);
    return ((await res.json()) as { invocationId: string }).invocationId;
  };
  const sql = async (query: string): Promise<Record<string, unknown>[]> => {
    const res = await fetch(`${fixture.admin}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
  };

  it("maxAttempts 3 pauses after the third attempt although every attempt journaled a new step", async () => {
    const id = await send("/Progressing/pauseAfterThree/send", "p");
    await eventually(() => fixture.node.dispatcher.status(id as InvocationId)?.status === "paused", 15_000, "the invocation to pause");
    assert.equal(attempts.get("p"), 3);
    assert.equal(fixture.node.dispatcher.status(id as InvocationId)?.journalLength, 1 + 3 * 2, "input, then three steps and their results");
  });

  it("retry_count in SQL counts the attempts started, also when the failed ones made progress", async () => {
    const id = await send("/Progressing/slowSecondRetry/send", "s");
    await eventually(() => attempts.get("s") === 2, 15_000, "the second attempt to start");
    await eventually(async () => (await sql(`SELECT status FROM sys_invocation WHERE id = '${id}'`))[0]?.status === "backing-off", 15_000, "the second attempt to fail");
    const [view] = await sql(`SELECT status, retry_count, last_failure FROM sys_invocation WHERE id = '${id}'`);
    assert.equal(Number(view!.retry_count), 2, "two attempts so far, as restate-server counts them");
    assert.match(String(view!.last_failure), /attempt 2 of s fails/);
    const [state] = await sql(`SELECT in_flight, retry_count FROM sys_invocation_state WHERE id = '${id}'`);
    assert.deepEqual({ inFlight: state!.in_flight, retryCount: Number(state!.retry_count) }, { inFlight: false, retryCount: 2 });
    assert.equal(attempts.get("s"), 2);
  });
});
