import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { counter, heldAwakeables } from "../support/example-services.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson, registerDeployment } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import type { InvocationId } from "../../src/types/ids.ts";

// What the handlers did, observed from outside the server.
const ran: string[] = [];
const compensated: string[] = [];
const leaves = new Map<string, { awakeable: string; invocation: string }>();
let fragileAttempts = 0;
let aRuns = 0;
let bRuns = 0;

const tracked = restate.service({
  name: "Tracked",
  handlers: {
    run: async (ctx: restate.Context, tag: string) => {
      await ctx.run("record", () => void ran.push(tag));
      return `ran ${tag}`;
    },
  },
});

/** Cancels another invocation from a handler: the CANCEL signal travels through the outbox. */
const canceller = restate.service({
  name: "Canceller",
  handlers: {
    cancel: async (ctx: restate.Context, id: string) => ctx.invocation(restate.InvocationIdParser.fromString(id)).cancel(),
  },
});

/** Waits on an awakeable; a cancellation runs its compensation, a kill must not. */
const leaf = restate.service({
  name: "Leaf",
  handlers: {
    wait: async (ctx: restate.Context, tag: string) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void leaves.set(tag, { awakeable: id, invocation: ctx.request().id }));
      try {
        return await promise;
      } catch (e) {
        if (e instanceof restate.TerminalError) await ctx.run("compensate", () => void compensated.push(tag));
        throw e;
      }
    },
  },
});

const tree = restate.service({
  name: "Tree",
  handlers: { parent: async (ctx: restate.Context, tag: string) => ctx.serviceClient(leaf).wait(tag) },
});

const fragileOptions = { retryPolicy: { maxAttempts: 2, onMaxAttempts: "pause" as const, initialInterval: 10 } };

/** Version 1 has a bug; version 2 (registered later as a new deployment) fixes it. */
const fragileV1 = restate.service({
  name: "Fragile",
  handlers: {
    work: restate.handlers.handler(fragileOptions, async (_ctx: restate.Context, n: number): Promise<number> => {
      fragileAttempts++;
      throw new Error(`bug in v1 (input ${n})`);
    }),
  },
});

const fragileV2 = restate.service({
  name: "Fragile",
  handlers: { work: restate.handlers.handler(fragileOptions, async (_ctx: restate.Context, n: number) => n * 2) },
});

/** Asks to be paused from inside a run: the SDK says so with the V7 error behavior. */
const pausing = restate.service({
  name: "Pausing",
  handlers: {
    now: async (ctx: restate.Context) => {
      await ctx.run("step", () => {
        throw new restate.PauseError("needs a human");
      });
    },
  },
});

/** Two journaled steps, each counting its real executions. */
const twice = restate.service({
  name: "Twice",
  handlers: {
    go: async (ctx: restate.Context) => {
      const a = await ctx.run("a", () => ++aRuns);
      const b = await ctx.run("b", () => ++bRuns);
      return { a, b };
    },
  },
});

describe("invocation lifecycle: cancel and kill in every state, retry policies, pause, resume, restart", () => {
  let fixture: Fixture;
  let ingress: string;
  let admin: string;
  let v2: SdkEndpoint | null = null;

  const status = (id: string) => fixture.node.dispatcher.status(id as InvocationId)?.status;
  const send = async (path: string, body?: unknown): Promise<string> => {
    const res = await callJson(ingress, path, body);
    assert.equal(res.status, 202, `${path}: ${res.status}`);
    return ((await res.json()) as { invocationId: string }).invocationId;
  };
  const attach = (id: string) => fetch(`${ingress}/restate/invocation/${id}/attach`);
  const patch = (path: string) => fetch(`${admin}${path}`, { method: "PATCH" });
  const sql = async (query: string): Promise<Record<string, unknown>[]> => {
    const res = await fetch(`${admin}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
  };

  before(async () => {
    fixture = await startFixture({ services: [counter, tracked, canceller, leaf, tree, fragileV1, pausing, twice] });
    ({ ingress, admin } = fixture);
  });

  after(async () => {
    await fixture.stop();
    await v2?.close();
  });

  it("a cancel from a handler ends a queued and a delayed invocation as canceled without running them", async () => {
    const holder = await send("/Counter/q/hold/send");
    await eventually(() => heldAwakeables.has("q"), 10_000, "the key's holder to start");
    const queued = await send("/Counter/q/add/send", 5);
    await eventually(() => status(queued) === "inboxed", 5_000, "the add to queue behind the holder");
    const delayed = await send("/Tracked/run/send?delay=PT1H", "delayed");
    // The send is answered once its record is durable; its partition applies it a moment later.
    await eventually(() => status(delayed) === "scheduled", 5_000, "the delayed send to be scheduled");

    for (const id of [queued, delayed]) assert.equal((await callJson(ingress, "/Canceller/cancel", id)).status, 200);
    for (const id of [queued, delayed]) {
      const res = await attach(id);
      assert.equal(res.status, 409);
      assert.match(((await res.json()) as { message: string }).message, /canceled/);
    }
    assert.ok(!ran.includes("delayed"), "the delayed invocation ran");
    // The holder finishes; the canceled add left the counter alone.
    assert.equal((await fetch(`${ingress}/restate/awakeables/${heldAwakeables.get("q")}/resolve`, { method: "POST", body: '"done"' })).status, 202);
    assert.equal((await attach(holder)).status, 200);
    assert.equal(await (await callJson(ingress, "/Counter/q/add", 0)).json(), 0);
  });

  it("a cancel from a handler reaches a running invocation, which runs its compensation", async () => {
    const id = await send("/Leaf/wait/send", "cancel-running");
    await eventually(() => leaves.has("cancel-running"), 10_000, "the leaf to wait");
    assert.equal((await callJson(ingress, "/Canceller/cancel", id)).status, 200);
    assert.equal((await attach(id)).status, 409);
    assert.ok(compensated.includes("cancel-running"));
  });

  it("killing a parent kills the child it called; the child runs no compensation", async () => {
    const parent = await send("/Tree/parent/send", "tree");
    await eventually(() => leaves.has("tree"), 10_000, "the child to wait");
    const child = leaves.get("tree")!.invocation;
    assert.equal((await patch(`/invocations/${parent}/kill`)).status, 200);
    for (const id of [parent, child]) {
      const res = await attach(id);
      assert.equal(res.status, 409, `${id === parent ? "parent" : "child"} answered ${res.status}`);
      assert.match(((await res.json()) as { message: string }).message, /killed/);
    }
    assert.ok(!compensated.includes("tree"), "a killed child must not run its compensation");
  });

  it("a handler with maxAttempts 2 and onMaxAttempts pause ends paused after two attempts, and resumes on the fixed deployment it is moved to", async () => {
    const id = await send("/Fragile/work/send", 21);
    await eventually(() => status(id) === "paused", 10_000, "the invocation to pause");
    assert.equal(fragileAttempts, 2);
    assert.deepEqual(await sql(`SELECT status FROM sys_invocation WHERE id = '${id}'`), [{ status: "paused" }]);
    const services = (await (await fetch(`${admin}/services/Fragile`)).json()) as { handlers: { retry_policy?: unknown }[] };
    assert.deepEqual(services.handlers[0].retry_policy, { initial_interval: "10ms", max_attempts: 2, on_max_attempts: "Pause" });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(fragileAttempts, 2, "a paused invocation is not retried");

    v2 = await startSdkEndpoint([fragileV2]);
    const registered = await registerDeployment(admin, v2.url);
    assert.equal(registered.status, 201);
    const v2Id = ((await registered.json()) as { id: string }).id;
    // Resumed as it is, it stays on the deployment it is pinned to: the old code fails twice more.
    assert.equal((await patch(`/invocations/${id}/resume`)).status, 200);
    await eventually(() => fragileAttempts === 4 && status(id) === "paused", 10_000, "the old code to pause it again");
    const unknown = await patch(`/invocations/${id}/resume?deployment=dp_1doesnotexist`);
    assert.equal(unknown.status, 400);
    assert.equal(((await unknown.json()) as { error_code: string }).error_code, "deployment_not_found");
    assert.equal(status(id), "paused");
    assert.equal((await patch(`/invocations/${id}/resume?deployment=${v2Id}`)).status, 200);
    const res = await attach(id);
    assert.equal(res.status, 200);
    assert.equal(await res.json(), 42);
    assert.equal(fragileAttempts, 4, "the fixed code ran, not the old one");
  });

  it("an SDK error asking to pause (PauseError in a run) pauses at once; kill ends it", async () => {
    const id = await send("/Pausing/now/send");
    await eventually(() => status(id) === "paused", 10_000, "the invocation to pause");
    assert.equal((await patch(`/invocations/${id}/kill`)).status, 200);
    assert.equal((await attach(id)).status, 409);
  });

  it("an operator pauses a running invocation, what arrives meanwhile waits, and resume completes it", async () => {
    const id = await send("/Leaf/wait/send", "operator");
    await eventually(() => leaves.has("operator"), 10_000, "the leaf to wait");
    assert.equal((await patch(`/invocations/${id}/pause`)).status, 202);
    await eventually(() => status(id) === "paused", 5_000, "the pause to apply");
    assert.equal((await patch(`/invocations/${id}/pause`)).status, 200, "pausing a paused invocation");
    const awakeable = leaves.get("operator")!.awakeable;
    assert.equal((await fetch(`${ingress}/restate/awakeables/${awakeable}/resolve`, { method: "POST", body: '"approved"' })).status, 202);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(status(id), "paused", "a completion does not wake a paused invocation");
    assert.equal((await patch(`/invocations/${id}/resume`)).status, 200);
    assert.equal(await (await attach(id)).json(), "approved");
  });

  it("refuses to resume, pause or restart an invocation in the wrong state with a 4xx naming the problem, and changes nothing", async () => {
    const done = await send("/Tracked/run/send", "done");
    assert.equal((await attach(done)).status, 200);
    const completed = await patch(`/invocations/${done}/resume`);
    assert.equal(completed.status, 409);
    assert.deepEqual(await completed.json(), {
      code: 409,
      error_code: "invocation_already_completed",
      message: `The invocation '${done}' is completed, cannot be resumed.`,
    });
    assert.equal((await patch(`/invocations/${done}/pause`)).status, 409);

    const delayed = await send("/Tracked/run/send?delay=PT1H", "not-started");
    // Acknowledged once durable; the admin API reads what the partition has applied.
    await eventually(() => status(delayed) === "scheduled", 5_000, "the delayed send to be scheduled");
    const notStarted = await patch(`/invocations/${delayed}/resume`);
    assert.equal(notStarted.status, 425);
    assert.equal(((await notStarted.json()) as { error_code: string }).error_code, "invocation_not_started");
    assert.equal(status(delayed), "scheduled");
    assert.equal((await patch(`/invocations/${delayed}/restart-as-new`)).status, 425);

    const badDeployment = await patch(`/invocations/${done}/restart-as-new?deployment=nonsense`);
    assert.equal(badDeployment.status, 400);
    assert.equal(((await badDeployment.json()) as { error_code: string }).error_code, "invalid_query_parameter");
    assert.equal((await patch(`/invocations/${done}/restart-as-new?from=-1`)).status, 400);
    assert.equal((await patch(`/invocations/${done}/restart-as-new?from=99`)).status, 400);
    assert.equal((await patch(`/invocations/inv_1${"0".repeat(33)}/resume`)).status, 404);
    assert.deepEqual(
      ran.filter((t) => t === "done"),
      ["done"],
      "nothing ran again",
    );
  });

  it("restart-as-new runs a completed invocation again, from the start or from a journal prefix", async () => {
    const first = await (await callJson(ingress, "/Twice/go")).json();
    assert.deepEqual(first, { a: 1, b: 1 });
    const original = (await sql("SELECT id FROM sys_invocation WHERE target_service_name = 'Twice'"))[0].id as string;

    const fresh = await patch(`/invocations/${original}/restart-as-new`);
    assert.equal(fresh.status, 200);
    const { new_invocation_id: restarted } = (await fresh.json()) as { new_invocation_id: string };
    assert.deepEqual(await (await attach(restarted)).json(), { a: 2, b: 2 });
    assert.deepEqual(await sql(`SELECT restarted_from FROM sys_invocation WHERE id = '${restarted}'`), [{ restarted_from: original }]);

    // Entries 0 input, 1 run a, 2 its result: the copy replays a and runs b again.
    const fromPrefix = await patch(`/invocations/${original}/restart-as-new?from=2&deployment=keep`);
    assert.equal(fromPrefix.status, 200);
    const { new_invocation_id: resumedFromPrefix } = (await fromPrefix.json()) as { new_invocation_id: string };
    assert.deepEqual(await (await attach(resumedFromPrefix)).json(), { a: 1, b: 3 });
    assert.equal(aRuns, 2, "step a was replayed from the copied journal, not run");

    const notDone = await send("/Leaf/wait/send", "restart-running");
    await eventually(() => leaves.has("restart-running"), 10_000, "the leaf to wait");
    const running = await patch(`/invocations/${notDone}/restart-as-new`);
    assert.equal(running.status, 409);
    assert.equal(((await running.json()) as { error_code: string }).error_code, "invocation_still_running");
  });
});
