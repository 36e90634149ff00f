import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import type { Node } from "../../src/cluster/node.ts";
import type { InvocationId } from "../../src/types/ids.ts";

const attempts = new Map<string, number>();
const awakeables = new Map<string, string>();

const steps = restate.object({
  name: "Steps",
  handlers: {
    /** Needs a completion at every step: in request/response mode each one is a suspension. */
    walk: async (ctx: restate.ObjectContext, n: number) => {
      const doubled = await ctx.run("double", () => n * 2);
      await ctx.sleep(50);
      const before = (await ctx.get<number>("total")) ?? 0;
      ctx.set("total", before + doubled);
      const echoed = await ctx.serviceClient(echo).say(`total=${before + doubled}`);
      return echoed;
    },
  },
});

const echo = restate.service({ name: "Echo", handlers: { say: async (_ctx: restate.Context, s: string) => s } });

let blocked = true;
const gate = restate.service({
  name: "Gate",
  handlers: {
    /** Fails retryably until the test opens the gate. */
    pass: async () => {
      if (blocked) throw new Error("gate still closed");
      return "passed";
    },
  },
});

const flaky = restate.service({
  name: "Flaky",
  handlers: {
    /** Fails (retryably) on the first `failures` attempts. */
    work: async (ctx: restate.Context, req: { tag: string; failures: number }) => {
      const n = (attempts.get(req.tag) ?? 0) + 1;
      attempts.set(req.tag, n);
      if (n <= req.failures) throw new Error(`transient failure ${n}`);
      return `done after ${n} attempts`;
    },
    waitForApproval: async (ctx: restate.Context, tag: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void awakeables.set(tag, id));
      return await promise;
    },
  },
});

describe("invoker: request/response deployments suspend and resume at every step", () => {
  let fixture: Fixture;
  let node: Node;

  before(async () => {
    fixture = await startFixture({ services: [steps, echo, gate], bidirectional: false });
    ({ node } = fixture);
    const body = (await (await fetch(`http://127.0.0.1:${node.adminPort}/deployments`)).json()) as { deployments: { protocol_type: string }[] };
    assert.equal(body.deployments[0].protocol_type, "RequestResponse");
  });

  after(() => fixture.stop());

  it("completes a handler that runs, sleeps, reads and writes state and calls another service", async () => {
    const ingress = `http://127.0.0.1:${node.ingressPort}`;
    assert.equal(await (await callJson(ingress, "/Steps/a/walk", 5)).json(), "total=10");
    assert.equal(await (await callJson(ingress, "/Steps/a/walk", 1)).json(), "total=12");
  });

  it("shows a backing-off invocation's retries and last failure in sys_invocation_state", async () => {
    const ingress = `http://127.0.0.1:${node.ingressPort}`;
    const { invocationId } = (await (await callJson(ingress, "/Gate/pass/send")).json()) as { invocationId: string };
    const query = async () => {
      const res = await fetch(`http://127.0.0.1:${node.adminPort}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: `SELECT retry_count, last_failure, in_flight FROM sys_invocation_state WHERE id = '${invocationId}'` }),
      });
      return ((await res.json()) as { rows: { retry_count: number; last_failure?: string; in_flight: boolean }[] }).rows;
    };
    let row: { retry_count: number; last_failure?: string } | undefined;
    await eventually(async () => ((row = (await query())[0]), (row?.retry_count ?? 0) >= 2), 10_000, "retries to show up");
    assert.match(row!.last_failure ?? "", /gate still closed/);
    blocked = false;
    assert.equal(await (await fetch(`${ingress}/restate/invocation/${invocationId}/attach`)).json(), "passed");
    assert.deepEqual(await query(), []);
  });
});

describe("invoker: retries, give-up and the inactivity timeout", () => {
  let fixture: Fixture;
  let node: Node;
  let ingress: string;

  before(async () => {
    fixture = await startFixture({
      services: [flaky],
      config: { invoker: { inactivityTimeoutMs: 300, abortTimeoutMs: 2000, retry: { initialIntervalMs: 20, factor: 2, maxIntervalMs: 200, maxAttempts: 4 } } },
    });
    ({ node, ingress } = fixture);
  });

  after(() => fixture.stop());

  it("retries transient failures with backoff until the handler succeeds", async () => {
    const res = await callJson(ingress, "/Flaky/work", { tag: "two-failures", failures: 2 });
    assert.equal(res.status, 200);
    assert.equal(await res.json(), "done after 3 attempts");
  });

  it("fails the invocation terminally once the configured attempts are used up", async () => {
    const res = await callJson(ingress, "/Flaky/work", { tag: "always", failures: 100 });
    assert.equal(res.status, 500);
    assert.match(((await res.json()) as { message: string }).message, /gave up after 4 attempts: .*transient failure 4/);
    assert.equal(attempts.get("always"), 4);
  });

  it("asks an idle invocation to suspend after the inactivity timeout and resumes it on completion", async () => {
    const send = await callJson(ingress, "/Flaky/waitForApproval/send", "idle");
    const { invocationId } = (await send.json()) as { invocationId: InvocationId };
    await eventually(() => node.dispatcher.status(invocationId)?.status === "suspended", 10_000, "invocation to suspend");
    const id = awakeables.get("idle")!;
    assert.equal((await fetch(`${ingress}/restate/awakeables/${id}/resolve`, { method: "POST", body: '"ok"' })).status, 202);
    const out = await fetch(`${ingress}/restate/invocation/${invocationId}/attach`);
    assert.equal(await out.json(), "ok");
  });
});
