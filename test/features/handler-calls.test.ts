// Calls and sends made from handlers carry the SDK's options (idempotency key, headers, delay, name),
// as in Restate: duplicates run once, a workflow started twice from handlers runs once, and the
// invocations they start can be attached by idempotency key and workflow key.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";

/** Executions of Ledger.charge's side effect, by tag. */
const charges = new Map<string, number>();
/** Executions of Onboarding.run, by workflow key. */
const onboardings = new Map<string, number>();
/** When Recorder.record ran, and the headers it saw, by tag. */
const recorded = new Map<string, { at: number; tenant: string | null; idempotencyKey: string | null }>();

const ledger = restate.service({
  name: "Ledger",
  handlers: {
    charge: async (ctx: restate.Context, req: { tag: string; amount: number }) => {
      await ctx.run("charge", () => void charges.set(req.tag, (charges.get(req.tag) ?? 0) + 1));
      // Long enough for every concurrent caller's call to arrive while the first one runs.
      await ctx.sleep(300);
      return { charged: req.amount, id: ctx.request().id, key: ctx.request().idempotencyKey ?? null };
    },
  },
});

const recorder = restate.service({
  name: "Recorder",
  handlers: {
    record: async (ctx: restate.Context, tag: string) => {
      const headers = ctx.request().headers;
      const seen = { tenant: headers.get("x-tenant") ?? null, idempotencyKey: ctx.request().idempotencyKey ?? null };
      await ctx.run("record", () => void recorded.set(tag, { at: Date.now(), ...seen }));
      return seen;
    },
  },
});

const onboarding = restate.workflow({
  name: "Onboarding",
  handlers: {
    run: async (ctx: restate.WorkflowContext, email: string) => {
      await ctx.run("count", () => void onboardings.set(ctx.key, (onboardings.get(ctx.key) ?? 0) + 1));
      const go = await ctx.promise<string>("go").get();
      return `${email} onboarded (${go})`;
    },
    go: async (ctx: restate.WorkflowSharedContext, word: string) => ctx.promise<string>("go").resolve(word),
  },
});

const shop = restate.service({
  name: "Shop",
  handlers: {
    /** Charges through the ledger with the tag as idempotency key, and names the call in the journal. */
    buy: async (ctx: restate.Context, req: { tag: string; amount: number }) => {
      const charge = ctx.serviceClient(ledger).charge(req, restate.rpc.opts({ idempotencyKey: req.tag, name: `charge-${req.tag}` }));
      return { result: await charge, calleeId: await charge.invocationId };
    },
    /** Calls the recorder with a header, or sends to it after a delay; answers when it sent. */
    callWithHeader: async (ctx: restate.Context, tag: string) =>
      ctx.serviceClient(recorder).record(tag, restate.rpc.opts({ headers: { "x-tenant": "acme" } })),
    sendLater: async (ctx: restate.Context, req: { tag: string; delayMs: number }) => {
      const sentAt = await ctx.run("sent at", () => Date.now());
      ctx.serviceSendClient(recorder).record(req.tag, restate.rpc.sendOpts({ delay: req.delayMs, idempotencyKey: `later-${req.tag}` }));
      return sentAt;
    },
    /** Starts the workflow with a send; answers the run's invocation id. */
    startOnboarding: async (ctx: restate.Context, req: { key: string; email: string }) =>
      ctx.workflowSendClient(onboarding, req.key).run(req.email).invocationId,
    /** Calls the workflow's run handler; a refusal comes back as its code and message. */
    callOnboarding: async (ctx: restate.Context, req: { key: string; email: string }) => {
      try {
        return { result: await ctx.workflowClient(onboarding, req.key).run(req.email) };
      } catch (e) {
        if (e instanceof restate.TerminalError) return { code: e.code, message: e.message };
        throw e;
      }
    },
  },
});

describe("calls and sends from handlers", () => {
  let fixture: Fixture;
  let ingress: string;
  let admin: string;

  before(async () => {
    fixture = await startFixture({ services: [ledger, recorder, onboarding, shop] });
    ({ ingress, admin } = fixture);
  });

  after(() => fixture.stop());

  const json = async <T>(res: Response | Promise<Response>): Promise<T> => {
    const r = await res;
    const text = await r.text();
    assert.equal(r.status, 200, `HTTP ${r.status}: ${text}`);
    return JSON.parse(text) as T;
  };

  it("the same idempotent call from 20 concurrent invocations runs the callee once and all 20 get its result", async () => {
    type Bought = { result: { charged: number; id: string; key: string | null }; calleeId: string };
    const bought = await Promise.all(Array.from({ length: 20 }, () => json<Bought>(callJson(ingress, "/Shop/buy", { tag: "order-20", amount: 5 }))));
    assert.equal(charges.get("order-20"), 1, "the callee ran once");
    const calleeIds = new Set(bought.map((b) => b.calleeId));
    assert.equal(calleeIds.size, 1, "every caller names the same callee");
    for (const b of bought) assert.deepEqual(b.result, { charged: 5, id: b.calleeId, key: "order-20" });

    // A later call with the same key is answered from the stored result, and it can be attached by key.
    const late = await json<Bought>(callJson(ingress, "/Shop/buy", { tag: "order-20", amount: 5 }));
    assert.equal(late.calleeId, bought[0]!.calleeId);
    assert.equal(charges.get("order-20"), 1);
    const attached = await fetch(`${ingress}/restate/invocation/Ledger/charge/order-20/attach`);
    assert.equal(attached.status, 200);
    assert.equal(attached.headers.get("x-restate-id"), late.calleeId);
    assert.deepEqual(await attached.json(), late.result);
    assert.deepEqual(await json(fetch(`${ingress}/restate/invocation/Ledger/charge/order-20/output`)), late.result);
  });

  it("attach by idempotency key waits for a handler-made call still running", async () => {
    const buying = json<{ calleeId: string }>(callJson(ingress, "/Shop/buy", { tag: "order-attach", amount: 9 }));
    await eventually(() => charges.get("order-attach") === 1, 10_000, "the charge to start");
    const attached = await fetch(`${ingress}/restate/invocation/Ledger/charge/order-attach/attach`);
    assert.equal(attached.status, 200);
    const { calleeId } = await buying;
    assert.equal(attached.headers.get("x-restate-id"), calleeId);
    assert.deepEqual(await attached.json(), { charged: 9, id: calleeId, key: "order-attach" });
  });

  it("the call's name is journaled with it", async () => {
    await json(callJson(ingress, "/Shop/buy", { tag: "order-named", amount: 1 }));
    const res = await fetch(`${admin}/query`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: "SELECT name FROM sys_journal WHERE entry_type = 'Command: Call' AND name = 'charge-order-named'" }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.deepEqual((JSON.parse(text) as { rows: unknown[] }).rows, [{ name: "charge-order-named" }]);
  });

  it("a workflow started twice from handlers runs once: both sends get its id, a call gets Restate's 409", async () => {
    const key = "wf-twice";
    const first = await json<string>(callJson(ingress, "/Shop/startOnboarding", { key, email: "ada@example.com" }));
    const second = await json<string>(callJson(ingress, "/Shop/startOnboarding", { key, email: "bob@example.com" }));
    assert.equal(second, first, "the second start names the first run");
    await eventually(() => onboardings.get(key) === 1, 10_000, "the run to start");
    const refused = await json<{ code: number; message: string }>(callJson(ingress, "/Shop/callOnboarding", { key, email: "eve@example.com" }));
    assert.deepEqual(refused, { code: 409, message: "the workflow method was already invoked" });

    const attached = fetch(`${ingress}/restate/workflow/Onboarding/${key}/attach`);
    assert.equal((await fetch(`${ingress}/restate/workflow/Onboarding/${key}/output`)).status, 470, "still running");
    assert.equal((await callJson(ingress, `/Onboarding/${key}/go`, "now")).status, 200);
    const done = await attached;
    assert.equal(done.headers.get("x-restate-id"), first);
    assert.equal(await done.json(), "ada@example.com onboarded (now)");
    assert.equal(await json(fetch(`${ingress}/restate/workflow/Onboarding/${key}/output`)), "ada@example.com onboarded (now)");
    assert.equal(onboardings.get(key), 1, "never run again");
  });

  it("a workflow run called from a handler gets its result; a second call gets the 409 even after completion", async () => {
    const key = "wf-called";
    const calling = json<{ result: string }>(callJson(ingress, "/Shop/callOnboarding", { key, email: "cy@example.com" }));
    await eventually(() => onboardings.get(key) === 1, 10_000, "the run to start");
    assert.equal((await callJson(ingress, `/Onboarding/${key}/go`, "go")).status, 200);
    assert.deepEqual(await calling, { result: "cy@example.com onboarded (go)" });
    const again = await json<{ code: number; message: string }>(callJson(ingress, "/Shop/callOnboarding", { key, email: "dee@example.com" }));
    assert.deepEqual(again, { code: 409, message: "the workflow method was already invoked" });
    assert.equal(onboardings.get(key), 1);
  });

  it("concurrent first runs of a workflow from the ingress: one runs, every other request gets the 409", async () => {
    const key = "wf-race";
    const runs = Array.from({ length: 5 }, (_, i) => callJson(ingress, `/Onboarding/${key}/run`, `racer-${i}@example.com`));
    await eventually(() => onboardings.get(key) === 1, 10_000, "the run to start");
    assert.equal((await callJson(ingress, `/Onboarding/${key}/go`, "race")).status, 200);
    const answers = await Promise.all(runs);
    assert.deepEqual(answers.map((r) => r.status).sort(), [200, 409, 409, 409, 409]);
    assert.equal(new Set(answers.map((r) => r.headers.get("x-restate-id"))).size, 1, "all name the one run");
    const refusal = (await answers.find((r) => r.status === 409)!.json()) as { message: string };
    assert.equal(refusal.message, "the workflow method was already invoked");
    assert.equal(onboardings.get(key), 1);
  });

  it("headers reach the callee", async () => {
    assert.deepEqual(await json(callJson(ingress, "/Shop/callWithHeader", "with-header")), { tenant: "acme", idempotencyKey: null });
  });

  it("a delayed send from a handler runs after its delay, with its idempotency key", async () => {
    const delayMs = 1_500;
    const sentAt = await json<number>(callJson(ingress, "/Shop/sendLater", { tag: "later", delayMs }));
    await eventually(() => recorded.has("later"), 15_000, "the delayed send to run");
    const run = recorded.get("later")!;
    assert.ok(run.at >= sentAt + delayMs, `ran ${run.at - sentAt} ms after the send, expected at least ${delayMs}`);
    assert.equal(run.idempotencyKey, "later-later");
    const byKey = await json(fetch(`${ingress}/restate/invocation/Recorder/record/later-later/attach`));
    assert.deepEqual(byKey, { tenant: null, idempotencyKey: "later-later" });
  });
});
