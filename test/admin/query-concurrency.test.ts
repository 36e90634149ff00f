import assert from "node:assert/strict";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { greeter } from "../support/example-services.ts";

/** Journals thousands of commands in one invocation: a sys_journal that is slow to read whole. */
const bulk = restate.object({
  name: "Bulk",
  handlers: {
    fill: async (ctx: restate.ObjectContext, n: number) => {
      for (let i = 0; i < n; i++) ctx.set(`key-${i}`, { i, text: "x".repeat(200) });
      return n;
    },
  },
});

const OBJECTS = 3;
const ENTRIES_PER_OBJECT = 1000;

describe("SQL never stalls the engine", () => {
  let fixture: Fixture;

  const fullQuery = async (sql: string): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${fixture.admin}/query`, { method: "POST", headers: { accept: "application/json" }, body: JSON.stringify({ query: sql }) });
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
    return performance.now() - started;
  };

  const probe = async (): Promise<number> => {
    const started = performance.now();
    const res = await callJson(fixture.ingress, "/Greeter/greet", "probe");
    assert.equal(res.status, 200);
    await res.text();
    return performance.now() - started;
  };

  before(async () => {
    fixture = await startFixture({ services: [greeter, bulk] });
    for (let i = 0; i < OBJECTS; i++) assert.equal((await callJson(fixture.ingress, `/Bulk/b${i}/fill`, ENTRIES_PER_OBJECT)).status, 200);
  });

  after(() => fixture.stop());

  it("keeps the event loop responsive and calls completing while whole-table queries run", async (t) => {
    // Every entry decoded to JSON, every state value: what a loop on the engine's thread would stall for.
    const queries = ["SELECT * FROM sys_journal", "SELECT * FROM state", "SELECT count(*) FROM sys_journal j JOIN sys_invocation i ON i.id = j.id"];
    const alone = [];
    for (const sql of queries) alone.push(await fullQuery(sql));
    const slowest = Math.max(...alone);
    assert.ok(slowest > 200, `the whole-table queries take long enough to matter (${alone.map((d) => d.toFixed(0)).join(", ")} ms)`);

    const delay = monitorEventLoopDelay({ resolution: 5 });
    delay.enable();
    let running = true;
    let completedQueries = 0;
    const loop = (async () => {
      while (running) {
        for (const sql of queries) await fullQuery(sql);
        completedQueries++;
      }
    })();
    const latencies: number[] = [];
    // Calls run until the loop has run every query once, and for a few seconds at least.
    const until = performance.now() + 3_000;
    while (performance.now() < until || completedQueries < 1) latencies.push(await probe());
    running = false;
    await loop;
    delay.disable();

    const maxDelayMs = delay.max / 1e6;
    const sorted = [...latencies].sort((a, b) => a - b);
    t.diagnostic(`queries alone ${alone.map((d) => d.toFixed(0)).join("/")} ms; ${latencies.length} calls during ${completedQueries} rounds, p50 ${sorted[sorted.length >> 1]!.toFixed(0)} ms, max ${sorted[sorted.length - 1]!.toFixed(0)} ms; event loop delay max ${maxDelayMs.toFixed(0)} ms`);
    assert.ok(completedQueries >= 1, "the query loop ran alongside the calls");
    assert.ok(latencies.length >= 10, `calls kept completing (${latencies.length})`);
    // On the engine's thread each query would hold the loop for about its whole duration.
    assert.ok(maxDelayMs < slowest / 2, `event loop delay ${maxDelayMs.toFixed(0)} ms stays well below a query's ${slowest.toFixed(0)} ms`);
    assert.ok(Math.max(...latencies) < slowest + 1_000, `no call waited for a query (slowest call ${Math.max(...latencies).toFixed(0)} ms)`);
  });
});
