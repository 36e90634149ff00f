import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { tableFromIPC } from "apache-arrow";
import { CATALOGUE, type CatalogueRelation } from "../../src/admin/query/catalogue.ts";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { counter, flaky, greeter, heldAwakeables } from "../support/example-services.ts";

const caller = restate.service({
  name: "Caller",
  handlers: {
    callGreet: async (ctx: restate.Context, name: string) => {
      ctx.serviceSendClient(greeter).greet(`sent-${name}`);
      return ctx.serviceClient(greeter).greet(name);
    },
  },
});

const sleeper = restate.service({
  name: "Sleeper",
  handlers: { nap: async (ctx: restate.Context, ms: number) => ctx.sleep(ms) },
});

const failingStep = restate.service({
  name: "FailingStep",
  handlers: {
    charge: async (ctx: restate.Context) => {
      await ctx.run("prepare", () => 1);
      return ctx.run("charge", (): number => {
        throw new Error("card declined");
      });
    },
  },
});

const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (ctx: restate.WorkflowContext) => ctx.promise<string>("link").get(),
    click: async (ctx: restate.WorkflowSharedContext, link: string) => ctx.promise<string>("link").resolve(link),
  },
});

type Row = Record<string, unknown>;

/** apache-arrow's names for the catalogue's types (arrow-rs names them as the catalogue does): the same types, spelled as the JS reader prints them. */
const WIRE_TYPE: Readonly<Record<string, string>> = {
  UInt64: "Uint64",
  UInt32: "Uint32",
  LargeUtf8: "LargeUtf8",
  LargeBinary: "LargeBinary",
  Boolean: "Bool",
  'Timestamp(ms, "+00:00")': "Timestamp<MILLISECOND, +00:00>",
  "Duration(ms)": "Duration<MILLISECOND>",
  "List(UInt32)": "List<Uint32>",
  "List(LargeUtf8)": "List<LargeUtf8>",
};

/** Relations of 1.7.12 about virtual queues and concurrency rules, which are empty there too unless vqueues are enabled. */
const VQUEUE_RELATIONS: readonly CatalogueRelation[] = ["sys_scheduler", "sys_vqueues", "sys_vqueue_meta", "sys_vqueue_entry_status", "sys_user_limits", "sys_rules"];

describe("SQL catalogue: every table and column of restate-server 1.7.12, filled", () => {
  let fixture: Fixture;
  let admin: string;
  let callerId: string;
  let holderId: string;
  let flakyId: string;
  let failingStepId: string;
  let sleeperId: string;

  const query = (sql: string, accept = "application/json") =>
    fetch(`${admin}/query`, { method: "POST", headers: { "content-type": "application/json", accept }, body: JSON.stringify({ query: sql }) });
  const rows = async (sql: string): Promise<Row[]> => {
    const res = await query(sql);
    const text = await res.text();
    assert.equal(res.status, 200, `${sql}: ${text}`);
    return (JSON.parse(text) as { rows: Row[] }).rows;
  };
  /** Every column of `rows` that is NULL (absent) in some row, among `columns`. */
  const nulls = (result: Row[], columns: readonly string[]) => columns.filter((c) => result.some((r) => r[c] === undefined || r[c] === null));

  before(async () => {
    fixture = await startFixture({ services: [greeter, counter, caller, sleeper, flaky, failingStep, signup] });
    const { ingress, node } = fixture;
    admin = fixture.admin;
    const call = await callJson(ingress, "/Caller/callGreet", "Ada", { "idempotency-key": "caller-1" });
    assert.equal(call.status, 200);
    callerId = call.headers.get("x-restate-id")!;
    assert.equal((await callJson(ingress, "/Counter/a/add", 2)).status, 200);
    holderId = ((await (await callJson(ingress, "/Counter/held/hold/send")).json()) as { invocationId: string }).invocationId;
    await eventually(() => heldAwakeables.has("held"), 10_000, "holder to publish its awakeable");
    const queuedId = ((await (await callJson(ingress, "/Counter/held/add/send", 5)).json()) as { invocationId: string }).invocationId;
    await eventually(() => node.dispatcher.status(queuedId as never)?.status === "inboxed", 10_000, "second call to queue");
    sleeperId = ((await (await callJson(ingress, "/Sleeper/nap/send", 600_000)).json()) as { invocationId: string }).invocationId;
    flakyId = ((await (await callJson(ingress, "/Flaky/fail/send")).json()) as { invocationId: string }).invocationId;
    failingStepId = ((await (await callJson(ingress, "/FailingStep/charge/send")).json()) as { invocationId: string }).invocationId;
    const run = callJson(ingress, "/Signup/s1/run");
    assert.equal((await callJson(ingress, "/Signup/s1/click", "link-1")).status, 200);
    assert.equal((await run).status, 200);
    await eventually(async () => (await rows(`SELECT retry_count FROM sys_invocation_state WHERE id = '${flakyId}'`))[0]?.retry_count as number >= 2, 20_000, "flaky to fail twice");
    await eventually(async () => (await rows(`SELECT 1 FROM sys_journal WHERE id = '${sleeperId}' AND entry_type = 'Command: Sleep'`)).length === 1, 10_000, "sleeper to journal its sleep");
  });

  after(() => fixture.stop());

  it("lists the 18 relations with 1.7.12's columns, order and Arrow types, in information_schema and on the wire", async () => {
    const relations = Object.keys(CATALOGUE) as CatalogueRelation[];
    assert.equal(relations.length, 18);
    const listed = await rows("SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
    for (const relation of relations) assert.ok(listed.some((t) => t.table_name === relation), `${relation} in information_schema.tables`);
    assert.deepEqual(listed.find((t) => t.table_name === "sys_invocation")?.table_type, "VIEW");
    for (const relation of relations) {
      const expected = Object.entries(CATALOGUE[relation]);
      const declared = await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${relation}' ORDER BY ordinal_position`);
      assert.deepEqual(declared.map((c) => [c.column_name, c.data_type]), expected, `${relation} in information_schema.columns`);
      const res = await query(`SELECT * FROM ${relation} LIMIT 0`, "application/vnd.apache.arrow.stream");
      assert.equal(res.status, 200, relation);
      const schema = tableFromIPC(new Uint8Array(await res.arrayBuffer())).schema;
      assert.deepEqual(
        schema.fields.map((f) => [f.name, String(f.type)]),
        expected.map(([name, type]) => [name, WIRE_TYPE[type]]),
        `${relation}: SELECT * columns and types`,
      );
    }
  });

  it("sends rows on the Arrow stream with the catalogue's types, the same values as the JSON answer", async () => {
    const arrow = async (sql: string) => {
      const res = await query(sql, "application/vnd.apache.arrow.stream");
      assert.equal(res.status, 200, sql);
      assert.equal(res.headers.get("content-type"), "application/vnd.apache.arrow.stream");
      return tableFromIPC(new Uint8Array(await res.arrayBuffer()));
    };
    // A lookup by id (answered without DuckDB), a journal with binary payloads, a table with lists.
    for (const [relation, sql] of [
      ["sys_invocation", `SELECT * FROM sys_invocation WHERE id = '${callerId}'`],
      ["sys_journal", `SELECT * FROM sys_journal WHERE id = '${callerId}' ORDER BY index`],
      ["sys_invocation_status", "SELECT * FROM sys_invocation_status ORDER BY id"],
      ["sys_deployment", "SELECT * FROM sys_deployment"],
      ["state", "SELECT * FROM state ORDER BY service_key, key"],
    ] as const) {
      const table = await arrow(sql);
      const json = await rows(sql);
      assert.ok(table.numRows > 0 && table.numRows === json.length, `${sql}: ${table.numRows} rows on the stream, ${json.length} in JSON`);
      assert.deepEqual(
        table.schema.fields.map((f) => [f.name, String(f.type)]),
        Object.entries(CATALOGUE[relation]).map(([name, type]) => [name, WIRE_TYPE[type]]),
        sql,
      );
      for (const [i, row] of json.entries()) {
        for (const field of table.schema.fields) {
          const cell = table.getChild(field.name)!.get(i) as unknown;
          const expected = row[field.name];
          if (expected === undefined) assert.equal(cell, null, `${sql}: ${field.name} of row ${i}`);
          else if (cell instanceof Uint8Array) assert.equal(Buffer.from(cell).toString("hex"), expected, `${sql}: ${field.name}`);
          else if (typeof cell === "string") assert.equal(cell, expected, `${sql}: ${field.name}`);
        }
      }
    }
  });

  it("fills sys_invocation_status and the sys_invocation view where the invocation's state implies a value", async () => {
    const completed = await rows("SELECT * FROM sys_invocation_status WHERE status = 'completed'");
    assert.ok(completed.length >= 6, "completed invocations to check");
    assert.deepEqual(
      nulls(completed, ["partition_key", "id", "status", "completion_result", "target", "target_service_name", "target_handler_name", "target_service_ty", "invoked_by", "pinned_deployment_id", "pinned_service_protocol_version", "journal_size", "journal_commands_size", "created_at", "modified_at", "running_at", "completed_at", "completion_retention"]),
      [],
    );
    const calledByService = completed.filter((r) => r.invoked_by === "service");
    assert.equal(calledByService.length, 2, "the call and the send from Caller");
    assert.deepEqual(nulls(calledByService, ["invoked_by_id", "invoked_by_service_name", "invoked_by_target"]), []);
    assert.ok(calledByService.every((r) => r.invoked_by_id === callerId && r.invoked_by_target === "Caller/callGreet"));
    const [byKey] = await rows("SELECT id, idempotency_key FROM sys_invocation WHERE idempotency_key = 'caller-1'");
    assert.deepEqual(byKey, { id: callerId, idempotency_key: "caller-1" });
    const [inboxed] = await rows("SELECT * FROM sys_invocation WHERE status = 'pending'");
    assert.deepEqual(nulls([inboxed!], ["inboxed_at", "target_service_key", "created_at"]), []);
    const [held] = await rows(`SELECT status, running_at, pinned_deployment_id, last_start_at, last_attempt_deployment_id FROM sys_invocation WHERE id = '${holderId}'`);
    assert.ok(held!.status === "running" || held!.status === "suspended", String(held!.status));
    assert.deepEqual(nulls([held!], ["running_at", "pinned_deployment_id"]), []);
  });

  it("shows the invoker's retries and last failure in sys_invocation_state and as a TransientError journal event", async () => {
    const [state] = await rows(`SELECT * FROM sys_invocation_state WHERE id = '${flakyId}'`);
    assert.deepEqual(nulls([state!], ["partition_key", "id", "in_flight", "retry_count", "last_start_at", "last_attempt_deployment_id", "last_failure"]), []);
    assert.match(String(state!.last_failure), /flaky failure/);
    const [view] = await rows(`SELECT status, retry_count, last_failure FROM sys_invocation WHERE id = '${flakyId}'`);
    assert.ok(["backing-off", "running"].includes(String(view!.status)), String(view!.status));
    assert.match(String(state!.last_attempt_server), /^restate-sdk-typescript\//, "the SDK's x-restate-server");
    await eventually(async () => (await rows(`SELECT retry_count FROM sys_invocation_state WHERE id = '${failingStepId}'`))[0]?.retry_count as number >= 2, 20_000, "the step to fail twice");
    const [step] = await rows(`SELECT last_failure, last_failure_related_command_index, last_failure_related_command_name FROM sys_invocation WHERE id = '${failingStepId}'`);
    assert.match(String(step!.last_failure), /card declined/);
    // The SDK names the failing run and its index among the commands (the input command, `prepare`, then `charge`).
    assert.equal(step!.last_failure_related_command_name, "charge");
    assert.equal(step!.last_failure_related_command_index, 2);
    const events = await rows(`SELECT * FROM sys_journal_events WHERE id = '${flakyId}'`);
    assert.equal(events.length, 1);
    assert.deepEqual(nulls(events, ["partition_key", "id", "after_journal_entry_index", "appended_at", "event_type", "event_json"]), []);
    assert.equal(events[0]!.event_type, "TransientError");
    assert.match(String((JSON.parse(String(events[0]!.event_json)) as { error_message: string }).error_message), /flaky failure/);
  });

  it("fills every sys_journal column an entry's type implies: JSON forms always, callee and target for calls, wake-up time for sleeps, promise names", async () => {
    const journal = await rows("SELECT * FROM sys_journal");
    assert.deepEqual(nulls(journal, ["partition_key", "id", "index", "entry_type", "raw", "raw_length", "version", "entry_json", "entry_lite_json", "appended_at"]), []);
    for (const e of journal) {
      const json = JSON.parse(String(e.entry_json)) as Record<string, unknown>;
      assert.ok(String(e.entry_type).startsWith(`${Object.keys(json)[0]}: `), `${String(e.entry_type)} as ${String(e.entry_json)}`);
    }
    const calls = journal.filter((e) => e.id === callerId && (e.entry_type === "Command: Call" || e.entry_type === "Command: OneWayCall"));
    assert.equal(calls.length, 2);
    assert.deepEqual(nulls(calls, ["invoked_id", "invoked_target", "completed"]), []);
    assert.ok(calls.every((c) => c.invoked_target === "Greeter/greet" && c.completed === true));
    const callees = await rows(`SELECT id FROM sys_invocation WHERE invoked_by_id = '${callerId}' ORDER BY id`);
    assert.deepEqual(calls.map((c) => c.invoked_id).sort(), callees.map((c) => c.id));
    const [sleep] = journal.filter((e) => e.id === sleeperId && e.entry_type === "Command: Sleep");
    assert.ok(Date.parse(String(sleep!.sleep_wakeup_at)) > Date.now() + 60_000, "wakes up in about ten minutes");
    assert.equal(sleep!.completed, false);
    const promises = journal.filter((e) => String(e.entry_type).includes("Promise") && String(e.entry_type).startsWith("Command"));
    assert.ok(promises.length >= 2);
    assert.ok(promises.every((p) => p.promise_name === "link"));
  });

  it("fills state, inbox, locks, promises, idempotency, services and deployments; the vqueue tables stay empty as on 1.7.12 without vqueues", async () => {
    const expectFull = async (relation: string, columns: readonly string[], where = "") => {
      const result = await rows(`SELECT * FROM ${relation} ${where}`);
      assert.ok(result.length > 0, `${relation} has rows`);
      assert.deepEqual(nulls(result, columns), [], relation);
    };
    await expectFull("state", ["partition_key", "service_name", "service_key", "key", "key_length", "value_utf8", "value", "value_length"], "WHERE service_key = 'a'");
    await expectFull("sys_inbox", ["partition_key", "service_name", "service_key", "id", "sequence_number", "created_at"]);
    await expectFull("sys_keyed_service_status", ["partition_key", "service_name", "service_key", "invocation_id"]);
    await expectFull("sys_locks", ["partition_key", "lock_name", "acquired_at", "acquired_by"], `WHERE acquired_by = '${holderId}'`);
    await expectFull("sys_promise", ["partition_key", "service_name", "service_key", "key", "completed", "completion_success_value", "completion_success_value_utf8"]);
    await expectFull("sys_idempotency", ["partition_key", "service_name", "service_handler", "idempotency_key", "invocation_id"]);
    await expectFull("sys_service", ["name", "revision", "public", "ty", "deployment_id"]);
    await expectFull("sys_deployment", ["id", "ty", "endpoint", "created_at", "min_service_protocol_version", "max_service_protocol_version", "services"]);
    for (const relation of VQUEUE_RELATIONS) assert.deepEqual(await rows(`SELECT * FROM ${relation}`), [], relation);
  });
});
