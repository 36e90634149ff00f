import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { tableFromIPC } from "apache-arrow";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import type { SdkEndpoint } from "../support/sdk-endpoint.ts";
import type { Node } from "../../src/cluster/node.ts";
import { counter, greeter, heldAwakeables } from "../support/example-services.ts";

const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (ctx: restate.WorkflowContext) => ctx.promise<string>("link").get(),
    click: async (ctx: restate.WorkflowSharedContext, link: string) => ctx.promise<string>("link").resolve(link),
  },
});

type Row = Record<string, unknown>;

describe("SQL introspection: POST /query", () => {
  let fixture: Fixture;
  let sdk: SdkEndpoint;
  let node: Node;
  let ingress: string;
  let admin: string;
  let startedAt: number;
  let greetId: string;
  let holderId: string;
  let queuedId: string;

  const query = async (sql: string, accept = "application/json"): Promise<Response> =>
    fetch(`${admin}/query`, { method: "POST", headers: { "content-type": "application/json", accept }, body: JSON.stringify({ query: sql }) });

  const rows = async (sql: string): Promise<Row[]> => {
    const res = await query(sql);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.equal(res.headers.get("content-type"), "application/json");
    return (JSON.parse(text) as { rows: Row[] }).rows;
  };

  before(async () => {
    startedAt = Date.now();
    fixture = await startFixture({ services: [greeter, counter, signup] });
    ({ sdk, node, ingress, admin } = fixture);

    const greet = await callJson(ingress, "/Greeter/greet", "Ada");
    assert.equal(greet.status, 200);
    greetId = greet.headers.get("x-restate-id")!;
    assert.equal((await callJson(ingress, "/Greeter/greet", "Bob", { "idempotency-key": "bob-1" })).status, 200);
    for (const [key, n] of [["a", 1], ["a", 2], ["b", 5]] as const) assert.equal((await callJson(ingress, `/Counter/${key}/add`, n)).status, 200);

    holderId = ((await (await callJson(ingress, "/Counter/held/hold/send")).json()) as { invocationId: string }).invocationId;
    await eventually(() => heldAwakeables.has("held"), 10_000, "holder to publish its awakeable");
    queuedId = ((await (await callJson(ingress, "/Counter/held/add/send", 10)).json()) as { invocationId: string }).invocationId;
    await eventually(() => node.dispatcher.status(queuedId as never)?.status === "inboxed", 10_000, "second call to queue");

    const run = callJson(ingress, "/Signup/s1/run");
    assert.equal((await callJson(ingress, "/Signup/s1/click", "link-1")).status, 200);
    assert.equal((await run).status, 200);
  });

  after(() => fixture.stop());

  it("projects, filters, orders and limits sys_invocation, with the log's timestamps in RFC 3339", async () => {
    const result = await rows(
      "SELECT id, target, status, completion_result, created_at, modified_at, running_at, completed_at, invoked_by, journal_size " +
        "FROM sys_invocation WHERE target_service_name = 'Greeter' ORDER BY created_at LIMIT 1",
    );
    assert.equal(result.length, 1);
    const [inv] = result as [Row];
    assert.equal(inv.id, greetId);
    assert.equal(inv.target, "Greeter/greet");
    assert.equal(inv.status, "completed");
    assert.equal(inv.completion_result, "success");
    assert.equal(inv.invoked_by, "ingress");
    assert.equal(inv.journal_size, 4);
    const times = ["created_at", "running_at", "completed_at"].map((k) => {
      assert.match(inv[k] as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
      return Date.parse(inv[k] as string);
    });
    assert.deepEqual([...times].sort(), times, "created <= running <= completed");
    assert.ok(times[0]! >= startedAt - 1000 && times[2]! <= Date.now(), "timestamps from this run");
    assert.equal(inv.modified_at, inv.completed_at);
    const store = node.dispatcher.processorFor(greetId as never)!.store.read((tx) => tx.getInvocation(greetId as never))!;
    assert.equal(Date.parse(inv.created_at as string), store.createdAt, "the stored (log) timestamp, not a fresh clock read");
  });

  it("counts and groups, and joins the journal with invocations", async () => {
    assert.deepEqual(await rows("SELECT target_service_name AS service, COUNT(*) AS n FROM sys_invocation GROUP BY target_service_name ORDER BY service"), [
      { service: "Counter", n: 5 },
      { service: "Greeter", n: 2 },
      { service: "Signup", n: 2 },
    ]);
    const journal = await rows(
      `SELECT j.index, j.entry_type, j.name, j.version, j.appended_at FROM sys_journal j JOIN sys_invocation i ON i.id = j.id WHERE i.id = '${greetId}' ORDER BY j.index`,
    );
    assert.deepEqual(
      journal.map((e) => [e.index, e.entry_type, e.name ?? null, e.version]),
      [
        [0, "Command: Input", null, 2],
        [1, "Command: Run", "compose", 2],
        [2, "Notification: Run", null, 2],
        [3, "Command: Output", null, 2],
      ],
    );
    assert.ok(journal.every((e, i) => i === 0 || (e.appended_at as string) >= (journal[i - 1]!.appended_at as string)));
  });

  it("shows the inbox, the key holder, state, idempotency keys and promises", async () => {
    assert.deepEqual(await rows("SELECT service_name, service_key, id FROM sys_inbox"), [{ service_name: "Counter", service_key: "held", id: queuedId }]);
    assert.deepEqual(await rows(`SELECT status, inboxed_at IS NOT NULL AS inboxed FROM sys_invocation WHERE id = '${queuedId}'`), [
      { status: "pending", inboxed: true },
    ]);
    assert.deepEqual(await rows("SELECT invocation_id FROM sys_keyed_service_status WHERE service_key = 'held'"), [{ invocation_id: holderId }]);
    assert.deepEqual(await rows("SELECT service_key, key, value_utf8, value FROM state WHERE service_name = 'Counter' ORDER BY service_key"), [
      { service_key: "a", key: "value", value_utf8: "3", value: "33" },
      { service_key: "b", key: "value", value_utf8: "5", value: "35" },
    ]);
    assert.deepEqual(await rows("SELECT service_name, service_handler, idempotency_key FROM sys_idempotency"), [
      { service_name: "Greeter", service_handler: "greet", idempotency_key: "bob-1" },
    ]);
    assert.deepEqual(await rows("SELECT service_key, key, completed, completion_success_value_utf8 FROM sys_promise"), [
      { service_key: "s1", key: "link", completed: true, completion_success_value_utf8: '"link-1"' },
    ]);
  });

  it("lists services and deployments from the registry", async () => {
    assert.deepEqual(await rows("SELECT name, ty, public, revision FROM sys_service ORDER BY name"), [
      { name: "Counter", ty: "virtual_object", public: true, revision: 1 },
      { name: "Greeter", ty: "service", public: true, revision: 1 },
      { name: "Signup", ty: "workflow", public: true, revision: 1 },
    ]);
    const [dp] = (await rows("SELECT ty, endpoint, services, created_at FROM sys_deployment")) as [Row];
    assert.equal(dp.ty, "http");
    assert.equal(dp.endpoint, sdk.url);
    assert.deepEqual([...(dp.services as string[])].sort(), ["Counter", "Greeter", "Signup"]);
  });

  it("answers with an Arrow IPC stream unless JSON is asked for, with Restate's column types", async () => {
    const res = await query("SELECT id, created_at, journal_size, partition_key FROM sys_invocation_status ORDER BY created_at", "*/*");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/vnd.apache.arrow.stream");
    const table = tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    assert.deepEqual(
      table.schema.fields.map((f) => `${f.name}:${String(f.type)}`),
      ["id:LargeUtf8", "created_at:Timestamp<MILLISECOND, +00:00>", "journal_size:Uint32", "partition_key:Uint64"],
    );
    assert.equal(table.numRows, 9);
    assert.equal(table.getChild("id")!.get(0), greetId);

    const count = tableFromIPC(new Uint8Array(await (await query("SELECT COUNT(*) FROM sys_journal WHERE id = 'none'", "*/*")).arrayBuffer()));
    assert.equal(String(count.schema.fields[0]!.type), "Int64", "the CLI reads counts as Int64");
    assert.equal(count.getChildAt(0)!.get(0), 0n);

    const empty = tableFromIPC(new Uint8Array(await (await query("SELECT id FROM sys_inbox WHERE false", "*/*")).arrayBuffer()));
    assert.equal(empty.numRows, 0);
    assert.deepEqual(empty.schema.fields.map((f) => f.name), ["id"]);
  });

  it("runs the restate CLI's own queries: information_schema, versioned path, DataFusion-only forms", async () => {
    const columns = await fetch(`${admin}/v2/query`, {
      method: "POST",
      headers: { accept: "application/json" },
      body: JSON.stringify({
        query: "SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_name = 'sys_journal' AND column_name IN ('version', 'entry_json', 'appended_at')",
      }),
    });
    assert.deepEqual(await columns.json(), { rows: [{ n: 3 }] });
    assert.deepEqual(await rows("SELECT COUNT(1) FROM (SELECT * FROM sys_invocation inv LIMIT 50000) WHERE inv.target_service_name IN ('Greeter')"), [
      { "count(1)": 2 },
    ]);
    assert.deepEqual(
      await rows("SELECT target_handler_name AS h, FIRST_VALUE(id ORDER BY created_at ASC) AS oldest FROM sys_invocation WHERE target_service_name = 'Greeter' GROUP BY h"),
      [{ h: "greet", oldest: greetId }],
    );
    assert.deepEqual(
      await rows(`SELECT inv.id, dp.id IS NOT NULL AS pinned_deployment_exists FROM sys_invocation inv LEFT JOIN sys_deployment dp ON dp.id = inv.pinned_deployment_id WHERE inv.id = '${greetId}'`),
      // The invocation is pinned to the deployment it ran on, which exists (as on restate-server).
      [{ id: greetId, pinned_deployment_exists: true }],
    );
  });

  it("refuses bad queries with 400 and the engine's message", async () => {
    const cases: [string, RegExp][] = [
      ["SELEC id FROM sys_invocation", /syntax error/i],
      ["SELECT * FROM no_such_table", /no_such_table/],
      ["SELECT no_such_column FROM sys_invocation", /no_such_column/],
      ["SELECT 1; SELECT 2", /multiple statements/i],
      ["SELECT * FROM read_csv('/etc/passwd')", /disabled/i],
      ["SET enable_external_access = true", /locked/i],
    ];
    for (const [sql, message] of cases) {
      const res = await query(sql);
      const body = (await res.json()) as { code: number; message: string };
      assert.equal(res.status, 400, sql);
      assert.equal(body.code, 400);
      assert.match(body.message, message, sql);
    }
    for (const body of ["not json", "{}", '{"query": 1}']) {
      const res = await fetch(`${admin}/query`, { method: "POST", body });
      assert.equal(res.status, 400, body);
    }
  });
});
