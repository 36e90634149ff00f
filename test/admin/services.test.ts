import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import type { InvocationId } from "../../src/types/ids.ts";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";

type Json = Record<string, any>;

const HOUR = 3_600_000;

const greeter = restate.service({
  name: "Greeter",
  description: "Greets people",
  handlers: {
    greet: restate.handlers.handler(
      {
        input: restate.serde.json.schema<{ name: string }>({ type: "object", properties: { name: { type: "string" } }, required: ["name"] }),
        output: restate.serde.json.schema<string>({ type: "string" }),
      },
      async (_ctx: restate.Context, req: { name: string }) => `Hello ${req.name}`,
    ),
    plain: async (_ctx: restate.Context, n: number) => n,
    internal: restate.handlers.handler({ ingressPrivate: true }, async (_ctx: restate.Context) => "internal"),
    /** Declares its own idempotency retention, which a service-level change leaves alone. */
    pinned: restate.handlers.handler({ idempotencyRetention: { hours: 5 } }, async (_ctx: restate.Context) => "pinned"),
  },
});

const counter = restate.object({ name: "Counter", handlers: { get: async (ctx: restate.ObjectContext) => (await ctx.get<number>("value")) ?? 0 } });

const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (_ctx: restate.WorkflowContext, email: string) => email,
    poke: async (_ctx: restate.WorkflowSharedContext) => "poked",
  },
});

describe("admin API: services, handlers, service settings and service OpenAPI documents", () => {
  let fixture: Fixture;
  let admin: string;
  let ingress: string;

  const get = async (path: string) => {
    const res = await fetch(`${admin}${path}`);
    return { status: res.status, body: (await res.json()) as Json };
  };
  const patch = async (service: string, body: unknown) => {
    const res = await fetch(`${admin}/services/${service}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const statusOf = (id: string) => fixture.node.dispatcher.status(id as InvocationId);

  before(async () => {
    fixture = await startFixture({ services: [greeter, counter, signup] });
    ({ admin, ingress } = fixture);
  });
  after(() => fixture.stop());

  it("a handler's detail carries its JSON schemas; unknown handlers and services are 404s naming them", async () => {
    const greet = await get("/services/Greeter/handlers/greet");
    assert.equal(greet.status, 200);
    assert.deepEqual(greet.body.input_json_schema, { type: "object", properties: { name: { type: "string" } }, required: ["name"] });
    assert.deepEqual(greet.body.output_json_schema, { type: "string" });
    assert.equal((await get("/services/Greeter/handlers")).body.handlers.length, 4);

    const missingHandler = await get("/services/Greeter/handlers/nope");
    assert.equal(missingHandler.status, 404);
    assert.equal(missingHandler.body.message, "The requested handler 'nope' on service 'Greeter' does not exist");
    for (const path of ["/services/Nope", "/services/Nope/handlers", "/services/Nope/openapi", "/services/Nope/handlers/x"]) {
      const missing = await get(path);
      assert.equal(missing.status, 404, path);
      assert.equal(missing.body.message, "The requested service 'Nope' does not exist");
      assert.equal(missing.body.code, 404);
    }
  });

  it("PATCH public=false makes the ingress refuse the service, public=true opens it again", async () => {
    const closed = await patch("Greeter", { public: false });
    assert.equal(closed.status, 200);
    assert.equal(closed.body.public, false);
    assert.ok(closed.body.handlers.every((h: Json) => h.public === false));
    const refused = await callJson(ingress, "/Greeter/plain", 1);
    assert.equal(refused.status, 400);
    assert.match(await refused.text(), /not public/);

    const open = await patch("Greeter", { public: true });
    assert.equal(open.body.public, true);
    assert.equal(open.body.handlers.find((h: Json) => h.name === "internal").public, false, "a handler private of its own stays private");
    assert.equal((await callJson(ingress, "/Greeter/plain", 1)).status, 200);
  });

  it("PATCH retentions and timeouts: shown as Restate prints them and used by new invocations; a handler's own value is kept", async () => {
    const changed = await patch("Greeter", { idempotency_retention: "2 hours", journal_retention: "PT30M", inactivity_timeout: "90s", abort_timeout: null });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.idempotency_retention, "2h");
    assert.equal(changed.body.journal_retention, "30m");
    assert.equal(changed.body.inactivity_timeout, "1m 30s");
    assert.equal(changed.body.handlers.find((h: Json) => h.name === "plain").idempotency_retention, "2h");
    assert.equal(changed.body.handlers.find((h: Json) => h.name === "pinned").idempotency_retention, "5h");
    assert.deepEqual((await get("/services/Greeter")).body, changed.body, "GET shows what PATCH answered");

    const idempotent = await callJson(ingress, "/Greeter/plain", 7, { "idempotency-key": "retained" });
    assert.equal(idempotent.status, 200);
    const status = statusOf(idempotent.headers.get("x-restate-id")!)!;
    assert.equal(status.completionRetentionMs, 2 * HOUR);
    assert.equal(status.journalRetentionMs, 30 * 60_000);

    const workflow = await patch("Signup", { workflow_completion_retention: "3 hours" });
    assert.equal(workflow.body.workflow_completion_retention, "3h");
    const run = await callJson(ingress, "/Signup/w1/run", "a@b.c");
    assert.equal(run.status, 200);
    assert.equal(statusOf(run.headers.get("x-restate-id")!)!.completionRetentionMs, 3 * HOUR);

    assert.deepEqual((await patch("Greeter", {})).body, (await get("/services/Greeter")).body, "an empty PATCH changes nothing");
  });

  it("bad settings are 4xx JSON errors naming the problem, and change nothing", async () => {
    const before = (await get("/services/Greeter")).body;
    const cases: [unknown, number, RegExp][] = [
      ["{", 400, /not valid JSON/],
      [[1], 400, /JSON object/],
      [{ public: "yes" }, 400, /'public' must be true or false/],
      [{ idempotency_retention: "banana" }, 400, /'idempotency_retention' must be a duration/],
      [{ journal_retention: 3600 }, 400, /'journal_retention' must be a duration/],
      [{ inactivity_timeout: "99999999999999999999d" }, 400, /'inactivity_timeout' is longer than the maximum/],
      [{ workflow_completion_retention: "1h" }, 400, /workflows only; 'Greeter' is a Service/],
    ];
    for (const [body, status, message] of cases) {
      const answer = await patch("Greeter", body);
      assert.equal(answer.status, status, JSON.stringify(body));
      assert.equal(answer.body.code, status);
      assert.match(answer.body.message, message);
    }
    assert.equal((await patch("Nope", { public: true })).status, 404);
    assert.deepEqual((await get("/services/Greeter")).body, before);
  });

  it("a service's OpenAPI document: call and send per public handler, attach/output by idempotency key or workflow key, the handlers' schemas", async () => {
    const greeterDoc = (await get("/services/Greeter/openapi")).body;
    assert.equal(greeterDoc.openapi, "3.1.0");
    assert.deepEqual(greeterDoc.info, { title: "Greeter", version: "1", description: "Greets people" });
    assert.deepEqual(greeterDoc.servers, [{ url: `${ingress}/`, description: "Reprise ingress URL" }]);
    assert.deepEqual(Object.keys(greeterDoc.paths).sort(), [
      "/restate/call/Greeter/greet",
      "/restate/call/Greeter/pinned",
      "/restate/call/Greeter/plain",
      "/restate/invocation/Greeter/greet/{idempotencyKey}/attach",
      "/restate/invocation/Greeter/greet/{idempotencyKey}/output",
      "/restate/invocation/Greeter/pinned/{idempotencyKey}/attach",
      "/restate/invocation/Greeter/pinned/{idempotencyKey}/output",
      "/restate/invocation/Greeter/plain/{idempotencyKey}/attach",
      "/restate/invocation/Greeter/plain/{idempotencyKey}/output",
      "/restate/send/Greeter/greet",
      "/restate/send/Greeter/pinned",
      "/restate/send/Greeter/plain",
    ]);
    const call = greeterDoc.paths["/restate/call/Greeter/greet"].post;
    assert.deepEqual(call.requestBody.content["application/json"].schema, { $ref: "#/components/schemas/greetRequest" });
    assert.deepEqual(call.responses["200"].content["application/json"].schema, { $ref: "#/components/schemas/greetResponse" });
    assert.deepEqual(greeterDoc.components.schemas.greetRequest.required, ["name"]);
    assert.ok(greeterDoc.paths["/restate/send/Greeter/plain"].post.parameters.some((p: Json) => p.$ref === "#/components/parameters/delay"));

    const counterDoc = (await get("/services/Counter/openapi")).body;
    assert.ok(counterDoc.paths["/restate/call/Counter/{key}/get"].post.parameters.some((p: Json) => p.$ref === "#/components/parameters/key"));
    const signupDoc = (await get("/services/Signup/openapi")).body;
    assert.deepEqual(Object.keys(signupDoc.paths).sort(), [
      "/restate/call/Signup/{key}/poke",
      "/restate/call/Signup/{key}/run",
      "/restate/send/Signup/{key}/poke",
      "/restate/send/Signup/{key}/run",
      "/restate/workflow/Signup/{key}/attach",
      "/restate/workflow/Signup/{key}/output",
    ]);

    // Every $ref in a document names a component it has.
    for (const doc of [greeterDoc, counterDoc, signupDoc]) {
      for (const [, kind, name] of JSON.stringify(doc).matchAll(/"#\/components\/(\w+)\/(\w+)"/g)) assert.ok(doc.components[kind!][name!], `${kind}/${name}`);
    }
  });

  it("purge-journal: a completed invocation's journal goes and its status stays; a bad id or API version is a 4xx naming it", async () => {
    const res = await callJson(ingress, "/Greeter/plain", 9);
    const id = res.headers.get("x-restate-id")!;
    await eventually(() => (statusOf(id)?.journalLength ?? 0) > 0, 5_000, "the journal to be there");
    const purged = await fetch(`${admin}/invocations/${id}/purge-journal`, { method: "PATCH" });
    assert.equal(purged.status, 200);
    assert.equal(statusOf(id)?.status, "completed");
    assert.equal(statusOf(id)?.journalLength, 0);

    const bad = await fetch(`${admin}/invocations/not-an-id/purge-journal`, { method: "PATCH" });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as Json).message, /invalid invocation id/);
    const unknownVersion = await fetch(`${admin}/v9/services`);
    assert.equal(unknownVersion.status, 404);
    assert.match(((await unknownVersion.json()) as Json).message, /admin API version 9 is not supported/);
    const tooOld = await fetch(`${admin}/v0/services`);
    assert.equal(tooOld.status, 400);
    assert.match(((await tooOld.json()) as Json).message, /admin API version 0 is not supported \(supported: 1..3\)/);
  });
});
