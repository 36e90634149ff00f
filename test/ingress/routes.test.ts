import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { ALL_SERVICES, awakeableIds, workflowStarts } from "./services.ts";

type ErrorBody = { code: number; message: string; source: string };

/** An ingress refusal: the status, Restate's `{ code, message, source }` body and error-source header. */
async function refusal(res: Response, status: number, message: RegExp): Promise<void> {
  const body = (await res.json()) as ErrorBody;
  assert.equal(res.status, status, `${status} expected, got ${res.status}: ${body.message}`);
  assert.equal(body.code, status);
  assert.match(body.message, message);
  assert.equal(body.source, "ingress");
  assert.equal(res.headers.get("x-restate-error-source"), "ingress");
}

describe("ingress routes, as restate-server 1.7 answers them", () => {
  let fixture: Fixture;
  let ingress: string;

  before(async () => {
    fixture = await startFixture({ services: ALL_SERVICES });
    ({ ingress } = fixture);
  });

  after(() => fixture.stop());

  it("calls and sends by the original routes and by /restate/call|send, with GET, trailing slashes and delays", async () => {
    const call = await callJson(ingress, "/Greeter/greet", "Ada");
    assert.equal(call.status, 200);
    assert.equal(await call.json(), "Hello, Ada!");
    assert.equal(await (await callJson(ingress, "/restate/call/Greeter/greet", "Bo")).json(), "Hello, Bo!");
    assert.equal(await (await callJson(ingress, "/Greeter/greet/", "Cy")).json(), "Hello, Cy!");

    const get = await fetch(`${ingress}/Greeter/hello`);
    assert.equal(get.status, 200);
    assert.equal(await get.json(), "hello");
    assert.equal(await (await fetch(`${ingress}/restate/call/Counter/get-1/get`)).json(), 0);
    await refusal(await fetch(`${ingress}/Greeter/hello`, { method: "PUT" }), 405, /method not allowed/);

    assert.equal(await (await callJson(ingress, "/restate/call/Counter/c1/add", 2)).json(), 2);
    const sent = await callJson(ingress, "/restate/send/Counter/c1/add", 3);
    assert.equal(sent.status, 202);
    const accepted = (await sent.json()) as { invocationId: string; status: string };
    assert.equal(accepted.status, "Accepted");
    assert.equal(sent.headers.get("x-restate-id"), accepted.invocationId);
    await eventually(async () => (await (await callJson(ingress, "/Counter/c1/get")).json()) === 5, 10_000, "the send to run");

    const before = Date.now();
    const delayed = await callJson(ingress, "/restate/send/Counter/c2/add?delay=PT0.5S", 1);
    const { executionTime } = (await delayed.json()) as { executionTime: string };
    assert.ok(Date.parse(executionTime) >= before + 500, executionTime);
    const delayedOld = (await (await callJson(ingress, "/Counter/c2/add/send?delay=500ms", 1)).json()) as { executionTime?: string };
    assert.ok(delayedOld.executionTime !== undefined);
    await eventually(async () => (await (await callJson(ingress, "/Counter/c2/get")).json()) === 2, 10_000, "delayed sends to run");
    assert.ok(Date.now() - before >= 500, "a delayed send ran before its delay");
    await refusal(await callJson(ingress, "/Greeter/greet?delay=1s", "x"), 400, /delay is supported only with sends/);
  });

  it("passes the request's headers and path to the handler, but not the idempotency key", async () => {
    const res = await fetch(`${ingress}/Greeter/requestHeaders?q=1`, { method: "POST", headers: { "x-custom": "yes", "idempotency-key": "hdr-1" } });
    const seen = (await res.json()) as Record<string, string>;
    assert.equal(seen["x-custom"], "yes");
    assert.equal(seen["x-restate-ingress-path"], "/Greeter/requestHeaders?q=1");
    assert.equal(seen["idempotency-key"], undefined);
  });

  it("deduplicates by idempotency key: one invocation, its id and expiry on every answer, sends PreviouslyAccepted", async () => {
    const headers = { "idempotency-key": "order-1" };
    const first = await callJson(ingress, "/Counter/idem/add", 10, headers);
    const second = await callJson(ingress, "/Counter/idem/add", 10, headers);
    assert.equal(await first.json(), 10);
    assert.equal(await second.json(), 10, "the duplicate ran again");
    assert.equal(first.headers.get("x-restate-id"), second.headers.get("x-restate-id"));
    assert.match(second.headers.get("idempotency-expires") ?? "", /^\d{4}-\d\d-\d\dT[\d:.]+\+00:00$/);
    const send = (await (await callJson(ingress, "/Counter/idem/add/send", 10, headers)).json()) as { status: string; invocationId: string };
    assert.equal(send.status, "PreviouslyAccepted");
    assert.equal(send.invocationId, first.headers.get("x-restate-id"));
    await refusal(await callJson(ingress, "/Signup/idem/run", "a@b", headers), 400, /idempotency key with workflow handlers/);
  });

  it("attaches and reads output by invocation id, idempotency key and workflow key, on every route form", async () => {
    const send = await callJson(ingress, "/Greeter/slow/send", 300, { "idempotency-key": "slow-1" });
    const { invocationId: id } = (await send.json()) as { invocationId: string };
    await refusal(await fetch(`${ingress}/restate/output/${id}`), 470, /has not completed yet/);
    const attached = await fetch(`${ingress}/restate/attach/${id}`);
    assert.equal(attached.status, 200);
    assert.equal(await attached.json(), "slept 300");
    assert.equal(attached.headers.get("x-restate-id"), id);

    const byIdempotencyKey = [
      fetch(`${ingress}/restate/invocation/${id}/output`),
      fetch(`${ingress}/restate/invocation/${id}/attach`),
      fetch(`${ingress}/restate/output/${id}`),
      fetch(`${ingress}/restate/invocation/Greeter/slow/slow-1/output`),
      fetch(`${ingress}/restate/invocation/Greeter/slow/slow-1/attach`),
      callJson(ingress, "/restate/output", { target: "idempotentInvocation", service: "Greeter", handler: "slow", idempotencyKey: "slow-1" }),
      callJson(ingress, "/restate/attach", { target: "invocation", invocationId: id }),
    ];
    for (const res of await Promise.all(byIdempotencyKey)) {
      assert.equal(res.status, 200, res.url);
      assert.equal(await res.json(), "slept 300");
    }
    const lookup = await callJson(ingress, "/restate/lookup", { target: "idempotentInvocation", service: "Greeter", handler: "slow", idempotencyKey: "slow-1" });
    assert.deepEqual(await lookup.json(), { invocationId: id });

    await callJson(ingress, "/Counter/att/add", 7, { "idempotency-key": "k-7" });
    const keyed = await fetch(`${ingress}/restate/invocation/Counter/att/add/k-7/output`);
    assert.equal(await keyed.json(), 7);

    const run = (await (await callJson(ingress, "/Signup/att/run/send", "ada@example.com")).json()) as { invocationId: string };
    await refusal(await fetch(`${ingress}/restate/workflow/Signup/att/output`), 470, /not completed yet/);
    const waiting = fetch(`${ingress}/restate/workflow/Signup/att/attach`);
    await callJson(ingress, "/Signup/att/click", "link-1");
    const done = await waiting;
    assert.equal(await done.json(), "ada@example.com confirmed via link-1");
    assert.equal(done.headers.get("x-restate-id"), run.invocationId);
    const byBody = await callJson(ingress, "/restate/output", { target: "workflow", workflowName: "Signup", workflowKey: "att" });
    assert.equal(await byBody.json(), "ada@example.com confirmed via link-1");
    assert.deepEqual(await (await callJson(ingress, "/restate/lookup", { target: "workflow", workflowName: "Signup", workflowKey: "att" })).json(), { invocationId: run.invocationId });

    await refusal(await fetch(`${ingress}/restate/attach/inv_1${"0".repeat(33)}`), 404, /invocation not found/);
    await refusal(await fetch(`${ingress}/restate/invocation/Greeter/slow/never/output`), 404, /invocation not found/);
    await refusal(await fetch(`${ingress}/restate/workflow/Signup/never/attach`), 404, /invocation not found/);
    await refusal(await fetch(`${ingress}/restate/attach/${id}`, { method: "POST" }), 405, /method not allowed/);
    await refusal(await fetch(`${ingress}/restate/lookup`), 405, /method not allowed/);
  });

  it("answers a second run of a workflow with Restate's 409, while running and once completed; the run is not repeated", async () => {
    const first = callJson(ingress, "/Signup/rerun/run", "first@example.com");
    await eventually(() => workflowStarts.get("rerun") === 1, 10_000, "the workflow to start");
    const again = await callJson(ingress, "/Signup/rerun/run", "second@example.com");
    assert.equal(again.status, 409);
    assert.deepEqual(await again.json(), { code: 409, message: "the workflow method was already invoked", source: "invocation" });
    assert.equal(again.headers.get("x-restate-error-source"), "invocation");
    const runId = again.headers.get("x-restate-id");

    await callJson(ingress, "/Signup/rerun/click", "link-2");
    const result = await first;
    assert.equal(await result.json(), "first@example.com confirmed via link-2");
    assert.equal(result.headers.get("x-restate-id"), runId);
    const afterCompletion = await callJson(ingress, "/restate/call/Signup/rerun/run", "third@example.com");
    assert.equal(afterCompletion.status, 409);
    assert.equal(((await afterCompletion.json()) as ErrorBody).message, "the workflow method was already invoked");
    const send = (await (await callJson(ingress, "/Signup/rerun/run/send", "fourth@example.com")).json()) as { status: string };
    assert.equal(send.status, "PreviouslyAccepted");
    assert.equal(await (await fetch(`${ingress}/restate/workflow/Signup/rerun/output`)).json(), "first@example.com confirmed via link-2");
    assert.equal(workflowStarts.get("rerun"), 1);
  });

  it("resolves and rejects awakeables by /restate/a/{id} and /restate/awakeables/{id}", async () => {
    const ask = async (tag: string) => {
      const pending = callJson(ingress, "/Approvals/ask", tag);
      await eventually(() => awakeableIds.has(tag), 10_000, `awakeable ${tag}`);
      return { id: awakeableIds.get(tag)!, result: pending.then((r) => r.json()) };
    };
    const post = (path: string, body: string, contentType = "application/json") =>
      fetch(`${ingress}${path}`, { method: "POST", headers: { "content-type": contentType }, body });

    const a = await ask("short-resolve");
    assert.equal((await post(`/restate/a/${a.id}/resolve`, '"yes"')).status, 202);
    assert.equal(await a.result, "approved: yes");
    const b = await ask("short-reject");
    assert.equal((await post(`/restate/a/${b.id}/reject`, "no way", "text/plain")).status, 202);
    assert.equal(await b.result, "rejected: no way");
    const c = await ask("long-resolve");
    assert.equal((await post(`/restate/awakeables/${c.id}/resolve`, '"ok"')).status, 202);
    assert.equal(await c.result, "approved: ok");
    const d = await ask("long-reject");
    assert.equal((await post(`/restate/awakeables/${d.id}/reject`, "denied", "text/plain")).status, 202);
    assert.equal(await d.result, "rejected: denied");

    await refusal(await post(`/restate/a/${a.id}/resolve`, '"again"'), 409, /already completed/);
    await refusal(await post("/restate/a/not-an-id/resolve", "1"), 400, /bad awakeable id/);
    await refusal(await post(`/restate/a/${a.id}/accept`, "1"), 404, /not found/);
    await refusal(await post("/restate/awakeables/only-an-id", "1"), 400, /expected either \/restate\/awakeables\/:id\/resolve/);
    await refusal(await fetch(`${ingress}/restate/a/${a.id}/resolve`), 405, /method not allowed/);
  });

  it("serves /restate/health with the registered services; /openapi is not served, as in 1.7", async () => {
    const health = await fetch(`${ingress}/restate/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { services: ["Approvals", "Counter", "Greeter", "Hidden", "Inputs", "Signup"] });
    await refusal(await fetch(`${ingress}/restate/health`, { method: "POST" }), 405, /method not allowed/);
    await refusal(await fetch(`${ingress}/openapi/services`), 404, /^not found$/);
  });

  it("refuses paths that name nothing with Restate's codes", async () => {
    await refusal(await fetch(`${ingress}/`), 400, /^bad path: \/$/);
    await refusal(await callJson(ingress, "/Greeter", "x"), 400, /^bad path: \/Greeter$/);
    await refusal(await callJson(ingress, "/a/b/c/d/e/f/g/h", "x"), 400, /^bad path:/);
    await refusal(await callJson(ingress, "/Nope/greet", "x"), 404, /service 'Nope' not found/);
    await refusal(await callJson(ingress, "/Greeter/nope", "x"), 404, /handler 'nope' was not found/);
    await refusal(await callJson(ingress, "/Greeter/greet/extra", "x"), 400, /expected either \/:service-name\/:handler/);
    await refusal(await callJson(ingress, "/restate/call/Greeter", "x"), 400, /expected \/restate\/call\/:service\/:handler/);
    await refusal(await callJson(ingress, "/restate/call/Greeter/greet/send", "x"), 400, /expected \/restate\/call/);
    await refusal(await callJson(ingress, "/restate/nothing/here", "x"), 404, /^not found$/);
    await refusal(await fetch(`${ingress}/restate/invocation/only-one`), 400, /expected either \/restate\/invocation/);
    await refusal(await fetch(`${ingress}/restate/workflow/Signup/k`), 400, /expected either \/restate\/workflow/);
    await refusal(await fetch(`${ingress}/restate/workflow/Signup/k/peek`), 404, /^not found$/);
    await refusal(await callJson(ingress, "/Hidden/secret"), 400, /the invoked service is not public/);
    await refusal(await callJson(ingress, "/restate/scope/tenant-1/call/Greeter/greet", "x"), 400, /scoped invocations require vqueues/);
    await refusal(await callJson(ingress, "/Greeter/greet", "x", { "x-restate-limit-key": "k" }), 400, /limit-key requires a scope/);
  });
});
