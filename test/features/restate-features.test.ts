import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import type { Node } from "../../src/cluster/node.ts";

let idempotentRuns = 0;
let workflowRuns = 0;
const awakeableIds = new Map<string, string>();
const cancelObserved: string[] = [];

const payments = restate.service({
  name: "Payments",
  handlers: {
    charge: async (ctx: restate.Context, amount: number) => {
      await ctx.run("charge", () => void idempotentRuns++);
      await ctx.sleep(200);
      return { charged: amount, by: ctx.request().id };
    },
  },
});

const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (ctx: restate.WorkflowContext, email: string) => {
      await ctx.run("count", () => void workflowRuns++);
      ctx.set("stage", "waiting-for-click");
      const link = await ctx.promise<string>("email-link").get();
      ctx.set("stage", "done");
      return `${email} confirmed via ${link}`;
    },
    click: async (ctx: restate.WorkflowSharedContext, link: string) => {
      await ctx.promise<string>("email-link").resolve(link);
    },
    stage: async (ctx: restate.WorkflowSharedContext) => (await ctx.get<string>("stage")) ?? "none",
    peek: async (ctx: restate.WorkflowSharedContext) => (await ctx.promise<string>("email-link").peek()) ?? null,
  },
});

const approvals = restate.service({
  name: "Approvals",
  handlers: {
    ask: async (ctx: restate.Context, tag: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void awakeableIds.set(tag, id));
      return `approved: ${await promise}`;
    },
    approveFromHandler: async (ctx: restate.Context, req: { id: string; value: string }) => {
      ctx.resolveAwakeable(req.id, req.value);
    },
  },
});

const patient = restate.service({
  name: "Patient",
  handlers: {
    wait: async (ctx: restate.Context, tag: string) => {
      try {
        await ctx.sleep(60_000);
        return "woke up";
      } catch (e) {
        if (e instanceof restate.TerminalError) await ctx.run("observe", () => void cancelObserved.push(tag));
        throw e;
      }
    },
  },
});

const parent = restate.service({
  name: "Parent",
  handlers: {
    /** Waits on a child call; cancelling the parent must cancel the child too. */
    delegate: async (ctx: restate.Context, tag: string) => ctx.serviceClient(patient).wait(tag),
  },
});

describe("Restate feature surface", () => {
  let fixture: Fixture;
  let node: Node;
  let ingress: string;
  let admin: string;

  before(async () => {
    fixture = await startFixture({ services: [payments, signup, approvals, patient, parent] });
    ({ node, ingress, admin } = fixture);
  });

  after(() => fixture.stop());

  it("runs a request once when the same idempotency key is sent 20 times concurrently", async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => callJson(ingress, "/Payments/charge", 42, { "idempotency-key": "order-1" })),
    );
    const bodies = await Promise.all(responses.map((r) => r.text()));
    assert.ok(responses.every((r) => r.status === 200), `statuses ${responses.map((r) => r.status)}`);
    assert.equal(new Set(bodies).size, 1, "callers got different bodies");
    assert.equal(new Set(responses.map((r) => r.headers.get("x-restate-id"))).size, 1);
    assert.equal(idempotentRuns, 1);
    // Later duplicates get the stored result without running again.
    const again = await callJson(ingress, "/Payments/charge", 42, { "idempotency-key": "order-1" });
    assert.equal(await again.text(), bodies[0]);
    assert.equal(idempotentRuns, 1);
    const send = await callJson(ingress, "/Payments/charge/send", 42, { "idempotency-key": "order-1" });
    assert.equal(((await send.json()) as { status: string }).status, "PreviouslyAccepted");
  });

  it("attaches to an invocation by id and by idempotency key, and reports output not ready", async () => {
    const send = await callJson(ingress, "/Payments/charge/send", 7, { "idempotency-key": "order-2" });
    const { invocationId } = (await send.json()) as { invocationId: string };
    const early = await fetch(`${ingress}/restate/invocation/${invocationId}/output`);
    if (early.status !== 200) assert.equal(early.status, 470);
    const attached = await fetch(`${ingress}/restate/invocation/${invocationId}/attach`);
    assert.equal(attached.status, 200);
    const body = (await attached.json()) as { charged: number; by: string };
    assert.equal(body.charged, 7);
    assert.equal(body.by, invocationId);
    const byKey = await fetch(`${ingress}/restate/invocation/Payments/charge/order-2/output`);
    assert.deepEqual(await byKey.json(), body);
  });

  it("runs a workflow once per id; promises resolve from a shared handler; attach works", async () => {
    const first = callJson(ingress, "/Signup/user-1/run", "ada@example.com");
    await eventually(async () => (await (await callJson(ingress, "/Signup/user-1/stage")).json()) === "waiting-for-click", 10_000, "workflow to wait");
    const second = await callJson(ingress, "/Signup/user-1/run/send", "someone-else@example.com");
    assert.equal(((await second.json()) as { status: string }).status, "PreviouslyAccepted");
    assert.equal(await (await callJson(ingress, "/Signup/user-1/peek")).json(), null);
    assert.equal((await callJson(ingress, "/Signup/user-1/click", "link-123")).status, 200);
    const result = await first;
    assert.equal(result.status, 200);
    assert.equal(await result.json(), "ada@example.com confirmed via link-123");
    assert.equal(workflowRuns, 1);
    assert.equal(await (await callJson(ingress, "/Signup/user-1/peek")).json(), "link-123");
    const attached = await fetch(`${ingress}/restate/workflow/Signup/user-1/attach`);
    assert.equal(await attached.json(), "ada@example.com confirmed via link-123");
    // Completing the promise again is refused by the runtime, so the shared handler fails terminally.
    const again = await callJson(ingress, "/Signup/user-1/click", "other");
    assert.equal(again.status, 409);
  });

  it("resolves awakeables from the ingress and from another handler; a second resolve is refused", async () => {
    const fromIngress = callJson(ingress, "/Approvals/ask", "a");
    await eventually(() => awakeableIds.has("a"), 10_000, "awakeable to be created");
    const id = awakeableIds.get("a")!;
    assert.match(id, /^sign_1/);
    const resolved = await fetch(`${ingress}/restate/awakeables/${id}/resolve`, { method: "POST", headers: { "content-type": "application/json" }, body: '"yes"' });
    assert.equal(resolved.status, 202);
    assert.equal(await (await fromIngress).json(), "approved: yes");
    const twice = await fetch(`${ingress}/restate/awakeables/${id}/resolve`, { method: "POST", body: '"again"' });
    assert.equal(twice.status, 409);

    const fromHandler = callJson(ingress, "/Approvals/ask", "b");
    await eventually(() => awakeableIds.has("b"), 10_000, "second awakeable");
    assert.equal((await callJson(ingress, "/Approvals/approveFromHandler", { id: awakeableIds.get("b"), value: "by handler" })).status, 200);
    assert.equal(await (await fromHandler).json(), "approved: by handler");

    const malformed = await fetch(`${ingress}/restate/awakeables/not-an-id/resolve`, { method: "POST", body: "1" });
    assert.equal(malformed.status, 400);
    const unknown = await fetch(`${ingress}/restate/invocation/inv_1${"0".repeat(33)}/attach`);
    assert.equal(unknown.status, 404);
    const badId = await fetch(`${ingress}/restate/invocation/nonsense/attach`);
    assert.equal(badId.status, 400);
  });

  it("propagates cancellation from a parent to the child call it waits on", async () => {
    const { invocationId } = (await (await callJson(ingress, "/Parent/delegate/send", "child-1")).json()) as { invocationId: string };
    const childOf = async () => {
      const res = await fetch(`${admin}/query`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ query: `SELECT id FROM sys_invocation WHERE invoked_by_id = '${invocationId}'` }),
      });
      return ((await res.json()) as { rows: { id: string }[] }).rows[0];
    };
    let child: { id: string } | undefined;
    // The child is sleeping once its Sleep command is journaled (input + sleep).
    await eventually(async () => (child = await childOf()) !== undefined && (node.dispatcher.status(child.id as never)?.journalLength ?? 0) >= 2, 10_000, "child to start sleeping");
    child = child!;
    assert.ok([200, 202].includes((await fetch(`${admin}/invocations/${invocationId}/cancel`, { method: "PATCH" })).status));
    const parentOut = await fetch(`${ingress}/restate/invocation/${invocationId}/attach`);
    assert.equal(parentOut.status, 409);
    const childOut = await fetch(`${ingress}/restate/invocation/${child.id}/attach`);
    assert.equal(childOut.status, 409, "the child call was not cancelled");
    await eventually(() => cancelObserved.includes("child-1"), 5_000, "child's cancellation handler");
  });

  it("cancels a running invocation gracefully, kills another, and purges completed ones", async () => {
    const send = await callJson(ingress, "/Patient/wait/send", "c1");
    const { invocationId } = (await send.json()) as { invocationId: string };
    await eventually(() => node.dispatcher.status(invocationId as never)?.status === "suspended" || node.dispatcher.status(invocationId as never)?.journalLength! > 1, 10_000, "invocation to start");
    const cancel = await fetch(`${admin}/invocations/${invocationId}/cancel`, { method: "PATCH" });
    assert.ok(cancel.status === 200 || cancel.status === 202, `cancel status ${cancel.status}`);
    const result = await fetch(`${ingress}/restate/invocation/${invocationId}/attach`);
    assert.equal(result.status, 409);
    assert.ok(cancelObserved.includes("c1"), "the cancelled handler did not observe its cancellation");

    const killMe = (await (await callJson(ingress, "/Patient/wait/send", "k1")).json()) as { invocationId: string };
    await eventually(() => node.dispatcher.status(killMe.invocationId as never)?.journalLength! > 1, 10_000, "second invocation to start");
    assert.equal((await fetch(`${admin}/invocations/${killMe.invocationId}/kill`, { method: "PATCH" })).status, 200);
    const killed = await fetch(`${ingress}/restate/invocation/${killMe.invocationId}/attach`);
    assert.equal(killed.status, 409);
    assert.match(((await killed.json()) as { message: string }).message, /killed/);
    assert.ok(!cancelObserved.includes("k1"), "a killed invocation must not run its cancellation handler");

    assert.equal((await fetch(`${admin}/invocations/${killMe.invocationId}/kill`, { method: "PATCH" })).status, 409);
    assert.equal((await fetch(`${admin}/invocations/${killMe.invocationId}/purge`, { method: "PATCH" })).status, 200);
    await eventually(() => node.dispatcher.status(killMe.invocationId as never) === null, 5_000, "purge to apply");
    assert.equal((await fetch(`${admin}/invocations/${killMe.invocationId}/purge`, { method: "PATCH" })).status, 404);
    assert.equal((await fetch(`${admin}/invocations/garbage/cancel`, { method: "PATCH" })).status, 400);
  });
});
