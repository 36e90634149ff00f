import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { adminDocument, examplePath } from "../../src/admin/openapi/admin-document.ts";
import type { AdminRoute } from "../../src/admin/server.ts";
import type { InvocationId } from "../../src/types/ids.ts";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson, registerDeployment } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";

type Json = Record<string, any>;

/** restate-server 1.7.12's admin OpenAPI document, as its `GET /openapi` answers it. */
const RESTATE: Json = JSON.parse(readFileSync(new URL("./data/restate-1.7.12-admin-openapi.json", import.meta.url), "utf8"));

/** Operations Reprise answers with 501 and a message: Kafka, and Restate's experimental limits and virtual queues. */
const NOT_IMPLEMENTED = new Set([
  "list_kafka_clusters",
  "create_kafka_cluster",
  "get_kafka_cluster",
  "update_kafka_cluster",
  "delete_kafka_cluster",
  "list_subscriptions",
  "create_subscription",
  "get_subscription",
  "delete_subscription",
  "upsert_rules",
  "bulk_delete_rules",
  "pause_vqueue",
  "resume_vqueue",
]);

const awakeables = new Map<string, string>();

const greeter = restate.service({
  name: "Greeter",
  description: "Greets people",
  handlers: {
    greet: restate.handlers.handler(
      {
        input: restate.serde.json.schema<{ name: string }>({ type: "object", properties: { name: { type: "string" } }, required: ["name"] }),
        output: restate.serde.json.schema<string>({ type: "string" }),
      },
      async (ctx: restate.Context, req: { name: string }) => ctx.run("compose", () => `Hello ${req.name}`),
    ),
    plain: async (_ctx: restate.Context, n: number) => n,
  },
});

const counter = restate.object({
  name: "Counter",
  handlers: {
    get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => (await ctx.get<number>("value")) ?? 0),
    /** Holds the key until its awakeable is resolved. */
    hold: async (ctx: restate.ObjectContext) => {
      const { id, promise } = ctx.awakeable<string>();
      await ctx.run("publish", () => void awakeables.set(ctx.key, id));
      return promise;
    },
  },
});

const extra = restate.service({ name: "Extra", handlers: { ping: async () => "pong" } });

/** Ajv over Restate's (or Reprise's) component schemas: `schemaFor(x)` validates a body against `x` with its refs resolved there. */
function validatorOf(doc: Json, id: string): (schema: Json) => ValidateFunction {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  const rebase = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(rebase)
      : v !== null && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === "$ref" && typeof x === "string" && x.startsWith("#/") ? `${id}${x}` : rebase(x)]))
        : v;
  ajv.addSchema({ $id: id, components: rebase(doc.components) as object });
  return (schema) => ajv.compile(rebase(schema) as object);
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

describe("admin API: every operation of restate-server 1.7.12's admin OpenAPI", () => {
  let fixture: Fixture;
  let extraEndpoint: SdkEndpoint;
  let admin: string;
  let ingress: string;
  let deploymentId: string;
  let extraDeploymentId: string;
  /** Completed invocations, one per operation that needs one to itself. */
  const done: Record<string, string> = {};
  /** Invocations that hold a Counter key, waiting on an awakeable. */
  const held: Record<string, string> = {};
  const answers = new Map<string, Answer>();

  const request = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${admin}${path}`, {
      method,
      headers: { "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? "" : JSON.parse(text);
    } catch {
      // Not JSON (an Arrow stream, the metrics text): kept as text.
    }
    return { status: res.status, body: parsed };
  };
  const statusOf = (id: string) => fixture.node.dispatcher.status(id as InvocationId)?.status;
  const completed = async (handler: string, arg: unknown): Promise<string> => {
    const res = await callJson(ingress, `/Greeter/${handler}`, arg);
    assert.equal(res.status, 200, await res.clone().text());
    return res.headers.get("x-restate-id")!;
  };
  const hold = async (key: string): Promise<string> => {
    const { invocationId } = (await (await callJson(ingress, `/Counter/${key}/hold/send`)).json()) as { invocationId: string };
    await eventually(() => awakeables.has(key), 10_000, `${key} to hold its key`);
    return invocationId;
  };

  /** How the test exercises each operation: the request, made against the state the earlier ones left. */
  const scenarios: Record<string, () => Promise<Answer>> = {
    cluster_health: () => request("GET", "/cluster-health"),
    health: () => request("GET", "/health"),
    version: () => request("GET", "/version"),
    list_deployments: () => request("GET", "/deployments"),
    create_deployment: () => request("POST", "/deployments", { uri: fixture.sdk.url }),
    get_deployment: () => request("GET", `/deployments/${deploymentId}`),
    update_deployment: () => request("PATCH", `/deployments/${deploymentId}`, { additional_headers: { "x-team": "blue" } }),
    delete_deployment: () => request("DELETE", `/deployments/${extraDeploymentId}?force=true`),
    list_services: () => request("GET", "/services"),
    get_service: () => request("GET", "/services/Greeter"),
    modify_service: () => request("PATCH", "/services/Greeter", { idempotency_retention: "2h", inactivity_timeout: "5 minutes" }),
    list_service_handlers: () => request("GET", "/services/Greeter/handlers"),
    get_service_handler: () => request("GET", "/services/Greeter/handlers/greet"),
    get_service_openapi: () => request("GET", "/services/Greeter/openapi"),
    modify_service_state: () => request("POST", "/services/Counter/state", { object_key: "edited", new_state: { value: [..."42"].map((c) => c.charCodeAt(0)) } }),
    query: () => request("POST", "/query", { query: "SELECT id, status FROM sys_invocation LIMIT 1" }, { accept: "application/json" }),
    cancel_invocation: () => request("PATCH", `/invocations/${held.cancel}/cancel`),
    kill_invocation: () => request("PATCH", `/invocations/${held.kill}/kill`),
    pause_invocation: () => request("PATCH", `/invocations/${held.pause}/pause`),
    resume_invocation: async () => {
      await eventually(() => statusOf(held.pause!) === "paused", 10_000, "the paused invocation to be paused");
      return request("PATCH", `/invocations/${held.pause}/resume`);
    },
    purge_invocation: () => request("PATCH", `/invocations/${done.purge}/purge`),
    purge_journal: () => request("PATCH", `/invocations/${done.purgeJournal}/purge-journal`),
    restart_as_new_invocation: () => request("PATCH", `/invocations/${done.restart}/restart-as-new`),
    delete_invocation: () => request("DELETE", `/invocations/${done.delete}?mode=purge`),
    list_kafka_clusters: () => request("GET", "/kafka-clusters"),
    create_kafka_cluster: () => request("POST", "/kafka-clusters", { name: "c1", properties: { "bootstrap.servers": "localhost:9092" } }),
    get_kafka_cluster: () => request("GET", "/kafka-clusters/c1"),
    update_kafka_cluster: () => request("PATCH", "/kafka-clusters/c1", { properties: {} }),
    delete_kafka_cluster: () => request("DELETE", "/kafka-clusters/c1"),
    list_subscriptions: () => request("GET", "/subscriptions"),
    create_subscription: () => request("POST", "/subscriptions", { source: "kafka://c1/orders", sink: "service://Greeter/plain" }),
    get_subscription: () => request("GET", "/subscriptions/sub_11XHoawrCVkZjRwhHRNJtIn"),
    delete_subscription: () => request("DELETE", "/subscriptions/sub_11XHoawrCVkZjRwhHRNJtIn"),
    upsert_rules: () => request("PUT", "/limits/rules", []),
    bulk_delete_rules: () => request("POST", "/limits/rules/bulk-delete", []),
    pause_vqueue: () => request("POST", "/vqueues/vq_1/pause"),
    resume_vqueue: () => request("POST", "/vqueues/vq_1/resume"),
  };

  const operations = Object.entries(RESTATE.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );

  before(async () => {
    fixture = await startFixture({ services: [greeter, counter] });
    ({ admin, ingress } = fixture);
    extraEndpoint = await startSdkEndpoint([extra]);
    deploymentId = ((await (await fetch(`${admin}/deployments`)).json()) as { deployments: { id: string }[] }).deployments[0]!.id;
    const registered = await registerDeployment(admin, extraEndpoint.url);
    assert.equal(registered.status, 201);
    extraDeploymentId = ((await registered.json()) as { id: string }).id;
    done.purge = await completed("plain", 1);
    done.purgeJournal = await completed("plain", 2);
    done.restart = await completed("greet", { name: "Ada" });
    done.delete = await completed("plain", 3);
    for (const key of ["cancel", "kill", "pause"]) held[key] = await hold(key);
    for (const { op } of operations) {
      const scenario = scenarios[op.operationId];
      if (scenario) answers.set(op.operationId, await scenario());
    }
  });

  after(async () => {
    await fixture.stop();
    await extraEndpoint.close();
  });

  it("the kept document is restate-server 1.7.12's, with its 37 operations", () => {
    assert.equal(RESTATE.info.version, "1.7.12");
    assert.equal(operations.length, 37);
  });

  it("each operation answers one of its documented status codes, with a body of Restate's schema; or 501 with a message", () => {
    const schemaFor = validatorOf(RESTATE, "restate");
    const problems: string[] = [];
    for (const { path, method, op } of operations) {
      const answer = answers.get(op.operationId);
      if (!answer) {
        problems.push(`${method} ${path} (${op.operationId}): no scenario exercises it`);
        continue;
      }
      if (NOT_IMPLEMENTED.has(op.operationId)) {
        const body = answer.body as Json;
        if (answer.status !== 501 || typeof body?.message !== "string" || body.message.length === 0 || body.code !== 501) {
          problems.push(`${method} ${path}: expected 501 with a message, got ${answer.status} ${JSON.stringify(answer.body)}`);
        }
        continue;
      }
      const documented = op.responses[String(answer.status)];
      if (!documented || answer.status >= 300) {
        problems.push(`${method} ${path}: answered ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}, documented ${Object.keys(op.responses).join(", ")}`);
        continue;
      }
      const schema = documented.content?.["application/json"]?.schema;
      if (schema === undefined || Object.keys(schema).length === 0) continue;
      const validate = schemaFor(schema);
      if (!validate(answer.body)) problems.push(`${method} ${path}: body does not match Restate's schema: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    }
    assert.deepEqual(problems, []);
  });

  it("the operations had their effect", async () => {
    assert.equal(((answers.get("version")!.body as Json).max_admin_api_version as number) >= 3, true);
    assert.equal((answers.get("version")!.body as Json).ingress_endpoint, `${ingress}/`);
    assert.equal((answers.get("modify_service")!.body as Json).idempotency_retention, "2h");
    assert.equal((answers.get("get_service_handler")!.body as Json).input_json_schema.required[0], "name");
    assert.ok((answers.get("get_service_openapi")!.body as Json).paths["/restate/call/Greeter/greet"]);
    await eventually(async () => (await (await callJson(ingress, "/Counter/edited/get")).json()) === 42, 5_000, "the edited state to be read");
    assert.equal(statusOf(done.purge!), undefined);
    assert.equal(fixture.node.dispatcher.status(done.purgeJournal as InvocationId)?.journalLength, 0);
    assert.equal(statusOf(done.delete!), undefined);
    const restarted = (answers.get("restart_as_new_invocation")!.body as Json).new_invocation_id as string;
    await eventually(() => statusOf(restarted) === "completed", 10_000, "the restarted invocation to complete");
    const traceOf = (id: string) => fixture.node.dispatcher.status(id as InvocationId)?.traceContext?.traceId;
    assert.match(traceOf(restarted) ?? "", /^[0-9a-f]{32}$/, "the restarted invocation has a trace of its own");
    assert.notEqual(traceOf(restarted), traceOf(done.restart!));
    await eventually(() => statusOf(held.kill!) === "completed" && statusOf(held.cancel!) === "completed", 10_000, "the killed and the cancelled invocation to end");
    assert.notEqual(statusOf(held.pause!), "paused", "resumed");
    const services = ((await (await fetch(`${admin}/services`)).json()) as { services: { name: string }[] }).services.map((s) => s.name);
    assert.deepEqual(services.sort(), ["Counter", "Greeter"], "the forcibly removed deployment took its service along");
  });

  it("Reprise's own document lists every route it serves, Restate's operations among them, and nothing it does not serve", async () => {
    const doc = (await request("GET", "/openapi")).body as Json;
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc["x-undocumented-routes"], undefined, `routes the document does not describe: ${JSON.stringify(doc["x-undocumented-routes"])}`);
    for (const { path, method } of operations) assert.ok(doc.paths[path]?.[method.toLowerCase()], `${method} ${path} is in Reprise's document`);
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const method of Object.keys(ops)) {
        const answer = await request(method.toUpperCase(), examplePath(path), method === "get" || method === "delete" ? undefined : {});
        const body = answer.body as Json;
        assert.ok(
          !(answer.status === 404 && /no such admin endpoint/.test(body?.message)) && body?.error_code !== "method_not_allowed",
          `${method.toUpperCase()} ${path} is routed: ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`,
        );
      }
    }
  });

  it("Reprise's answers match the schemas of its own document", async () => {
    const doc = (await request("GET", "/openapi")).body as Json;
    const schemaFor = validatorOf(doc, "reprise");
    const problems: string[] = [];
    for (const { path, method, op } of operations) {
      const answer = answers.get(op.operationId)!;
      const documented = doc.paths[path][method.toLowerCase()].responses[String(answer.status)];
      if (!documented) {
        problems.push(`${method} ${path}: ${answer.status} is not in Reprise's document`);
        continue;
      }
      const resolved = documented.$ref ? doc.components.responses[documented.$ref.split("/").pop()] : documented;
      const schema = resolved.content?.["application/json"]?.schema;
      if (schema === undefined) continue;
      const validate = schemaFor(schema);
      if (!validate(answer.body)) problems.push(`${method} ${path}: ${JSON.stringify(validate.errors?.slice(0, 3))}`);
    }
    assert.deepEqual(problems, []);
  });

  it("bad parameters and bodies: every operation that takes any answers a 4xx JSON error naming the problem (or 501)", async () => {
    const problems: string[] = [];
    for (const { path, method, op } of operations) {
      const hasParameters = path.includes("{") || op.requestBody !== undefined;
      if (!hasParameters) continue;
      const bad = path.replace(/\{[^}]+\}/g, "no-such-thing");
      const res = await fetch(`${admin}${bad}`, { method, headers: { "content-type": "application/json" }, ...(op.requestBody ? { body: "{" } : {}) });
      const body = (await res.json().catch(() => undefined)) as Json | undefined;
      const expected = NOT_IMPLEMENTED.has(op.operationId) ? res.status === 501 : res.status >= 400 && res.status < 500;
      if (!expected || body?.code !== res.status || typeof body?.message !== "string" || body.message.length === 0) {
        problems.push(`${method} ${bad}: ${res.status} ${JSON.stringify(body)}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it("a served route the operation list does not describe is named in the document", () => {
    const secret: AdminRoute = { method: "GET", pattern: /^\/secret$/, handle: async () => {} };
    const health: AdminRoute = { method: "GET", pattern: /^\/health$/, handle: async () => {} };
    const doc = adminDocument([health, secret], { version: "0", minApiVersion: 1, maxApiVersion: 3 });
    assert.deepEqual(doc["x-undocumented-routes"], [{ method: "GET", pattern: "^\\/secret$" }]);
    assert.deepEqual(Object.keys(doc.paths as object), ["/health"], "only served operations are listed");
  });
});
