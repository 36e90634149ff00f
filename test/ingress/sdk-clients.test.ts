import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as clients from "@restatedev/restate-sdk-clients";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { ALL_SERVICES, approvals, awakeableIds, counter, greeter, signup, workflowStarts } from "./services.ts";

/** Restate's own TypeScript ingress client, used unchanged against Reprise. */
describe("@restatedev/restate-sdk-clients against the ingress", () => {
  let fixture: Fixture;
  let rs: clients.Ingress;

  before(async () => {
    fixture = await startFixture({ services: ALL_SERVICES });
    rs = clients.connect({ url: fixture.ingress });
  });

  after(() => fixture.stop());

  it("calls services and objects", async () => {
    assert.equal(await rs.serviceClient(greeter).greet("Ada"), "Hello, Ada!");
    assert.equal(await rs.serviceClient(greeter).hello(), "hello");
    assert.equal(await rs.objectClient(counter, "clients-1").add(2), 2);
    assert.equal(await rs.objectClient(counter, "clients-1").add(3), 5);
    assert.equal(await rs.objectClient(counter, "clients-1").get(), 5);
  });

  it("deduplicates calls and sends by idempotency key, and fetches a send's result", async () => {
    const add = () => rs.objectClient(counter, "clients-idem").add(10, clients.rpc.opts({ idempotencyKey: "pay-1" }));
    assert.equal(await add(), 10);
    assert.equal(await add(), 10, "the duplicate ran again");
    const send = await rs.objectSendClient(counter, "clients-idem").add(10, clients.rpc.sendOpts({ idempotencyKey: "pay-1" }));
    assert.equal(send.status, "PreviouslyAccepted");
    assert.equal(await rs.result(send), 10);
    assert.equal(await rs.objectClient(counter, "clients-idem").get(), 10);
  });

  it("sends with a delay, to services and objects", async () => {
    const started = Date.now();
    const send = await rs.serviceSendClient(greeter).greet("later", clients.rpc.sendOpts({ delay: { milliseconds: 400 }, idempotencyKey: "later-1" }));
    assert.equal(send.status, "Accepted");
    assert.match(send.invocationId, /^inv_1/);
    assert.equal(await rs.result(send), "Hello, later!");
    assert.ok(Date.now() - started >= 400, "the delayed send ran early");

    await rs.objectSendClient(counter, "clients-delayed").add(4, clients.rpc.sendOpts({ delay: 200 }));
    assert.equal(await rs.objectClient(counter, "clients-delayed").get(), 0);
    await eventually(async () => (await rs.objectClient(counter, "clients-delayed").get()) === 4, 10_000, "the delayed object send");
  });

  it("submits a workflow, reads its output while it runs, attaches, and is refused a second run", async () => {
    const wf = rs.workflowClient(signup, "clients-wf");
    const submitted = await wf.workflowSubmit("ada@example.com");
    assert.equal(submitted.status, "Accepted");
    await eventually(() => workflowStarts.get("clients-wf") === 1, 10_000, "the workflow to start");
    assert.equal((await wf.workflowOutput()).ready, false);
    assert.equal((await wf.workflowSubmit("again@example.com")).status, "PreviouslyAccepted");

    const attached = wf.workflowAttach();
    await wf.click("link-9");
    assert.equal(await attached, "ada@example.com confirmed via link-9");
    const output = await wf.workflowOutput();
    assert.equal(output.ready, true);
    assert.equal(output.result, "ada@example.com confirmed via link-9");

    const rerun = rs.call({ service: "Signup", key: "clients-wf", handler: "run", parameter: "twice@example.com" });
    await assert.rejects(rerun, (e: unknown) => e instanceof clients.HttpCallError && e.status === 409 && /already invoked/.test(e.responseText));
    assert.equal(workflowStarts.get("clients-wf"), 1);
  });

  it("resolves and rejects awakeables", async () => {
    const ask = async (tag: string) => {
      const result = rs.serviceClient(approvals).ask(tag);
      await eventually(() => awakeableIds.has(tag), 10_000, `awakeable ${tag}`);
      return { id: awakeableIds.get(tag)!, result };
    };
    const yes = await ask("clients-yes");
    await rs.resolveAwakeable(yes.id, "sure");
    assert.equal(await yes.result, "approved: sure");
    const no = await ask("clients-no");
    await rs.rejectAwakeable(no.id, "not today");
    assert.equal(await no.result, "rejected: not today");
  });

  it("surfaces the ingress's errors as HttpCallError with Restate's status", async () => {
    await assert.rejects(async () => rs.serviceClient(greeter).greet("x", clients.rpc.opts({ headers: { "x-restate-limit-key": "k" } })), (e: unknown) => e instanceof clients.HttpCallError && e.status === 400);
    await assert.rejects(
      rs.call({ service: "Nope", handler: "x", parameter: 1 }),
      (e: unknown) => e instanceof clients.HttpCallError && e.status === 404 && /service 'Nope' not found/.test(e.responseText),
    );
  });
});
