import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { DuckDBInstance } from "@duckdb/node-api";
import { recognisePointLookup } from "../../src/admin/query/point-lookup.ts";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { counter, flaky, greeter, heldAwakeables } from "../support/example-services.ts";

const caller = restate.service({
  name: "Caller",
  handlers: { callGreet: async (ctx: restate.Context, name: string) => ctx.serviceClient(greeter).greet(name) },
});

const ARROW = "application/vnd.apache.arrow.stream";

describe("SQL point lookups by invocation id", () => {
  it("are recognised only in the shapes the rows alone decide", async () => {
    const duckdb = await DuckDBInstance.create(":memory:");
    const connection = await duckdb.connect();
    const lookup = async (sql: string) => {
      const reader = await connection.runAndReadAll("SELECT json_serialize_sql($1::VARCHAR)", [sql]);
      return recognisePointLookup((JSON.parse(String(reader.getRows()[0]![0])) as { statements: { node: unknown }[] }).statements[0]!.node);
    };
    try {
      assert.deepEqual(await lookup("SELECT id, status FROM sys_invocation WHERE id = 'inv_1'"), { relation: "sys_invocation", id: "inv_1", columns: ["id", "status"], offset: 0 });
      assert.deepEqual(await lookup("SELECT sj.index, sj.name FROM SYS_JOURNAL sj WHERE 'inv_2' = sj.id ORDER BY index DESC LIMIT 2 OFFSET 1"), {
        relation: "sys_journal",
        id: "inv_2",
        columns: ["index", "name"],
        order: "desc",
        offset: 1,
        limit: 2,
      });
      assert.equal((await lookup("SELECT * FROM sys_invocation_status WHERE id = 'x'"))?.columns.length, 38);
      for (const sql of [
        "SELECT DISTINCT id FROM sys_invocation WHERE id = 'x'",
        "SELECT id AS i FROM sys_invocation WHERE id = 'x'",
        "SELECT ID FROM sys_invocation WHERE id = 'x'",
        "SELECT id, id FROM sys_invocation WHERE id = 'x'",
        "SELECT * EXCLUDE (status) FROM sys_invocation WHERE id = 'x'",
        "SELECT other.id FROM sys_invocation inv WHERE inv.id = 'x'",
        "SELECT id FROM sys_invocation WHERE id IN ('x')",
        "SELECT id FROM sys_invocation WHERE id = 'x' AND status = 'completed'",
        "SELECT id FROM sys_invocation WHERE id = 1",
        "SELECT id FROM sys_invocation WHERE id = 'x' ORDER BY created_at",
        "SELECT index FROM sys_journal WHERE id = 'x' ORDER BY name",
        "SELECT index FROM sys_journal WHERE id = 'x' LIMIT 1 + 1",
        "SELECT count(*) FROM sys_journal WHERE id = 'x'",
        "SELECT id FROM sys_journal_events WHERE id = 'x'",
        "SELECT id FROM main.sys_invocation WHERE id = 'x'",
        "WITH t AS (SELECT 1) SELECT id FROM sys_invocation WHERE id = 'x'",
        "SELECT nope FROM sys_invocation WHERE id = 'x'",
      ]) {
        assert.equal(await lookup(sql), undefined, sql);
      }
    } finally {
      connection.closeSync();
      duckdb.closeSync();
    }
  });

  describe("answer what DuckDB answers", () => {
    let fixture: Fixture;
    const ids: Record<string, string> = {};

    const answer = async (sql: string, accept: string): Promise<Buffer> => {
      const res = await fetch(`${fixture.admin}/query`, { method: "POST", headers: { "content-type": "application/json", accept }, body: JSON.stringify({ query: sql }) });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, `${sql}: ${body.toString()}`);
      return body;
    };

    before(async () => {
      // After its second failure the flaky invocation waits 100 s: its state holds still while both answers are read.
      fixture = await startFixture({
        services: [greeter, counter, caller, flaky],
        config: { invoker: { retry: { initialIntervalMs: 50, factor: 2000, maxIntervalMs: 600_000, maxAttempts: 0 } } },
      });
      const { ingress, node } = fixture;
      const call = await callJson(ingress, "/Caller/callGreet", "Ada", { "idempotency-key": "k-1" });
      assert.equal(call.status, 200);
      ids.completed = call.headers.get("x-restate-id")!;
      ids.held = ((await (await callJson(ingress, "/Counter/held/hold/send")).json()) as { invocationId: string }).invocationId;
      await eventually(() => heldAwakeables.has("held"), 10_000, "holder to publish its awakeable");
      ids.inboxed = ((await (await callJson(ingress, "/Counter/held/add/send", 5)).json()) as { invocationId: string }).invocationId;
      await eventually(() => node.dispatcher.status(ids.inboxed as never)?.status === "inboxed", 10_000, "second call to queue");
      ids.flaky = ((await (await callJson(ingress, "/Flaky/fail/send")).json()) as { invocationId: string }).invocationId;
      await eventually(
        async () => ((JSON.parse((await answer(`SELECT retry_count FROM sys_invocation_state WHERE id = '${ids.flaky}' AND true`, "application/json")).toString()) as { rows: { retry_count?: number }[] }).rows[0]?.retry_count ?? 0) >= 2,
        20_000,
        "flaky to fail twice",
      );
      ids.missing = "inv_1cVIhNdK5b6k2D0wZ5gq2s8hDMs0ivxDCV";
    });

    after(() => fixture?.stop());

    it("for every status, in JSON and on the Arrow stream, byte for byte", async () => {
      let journalRows = 0;
      for (const [state, id] of Object.entries(ids)) {
        // The same statements with a conjunct the fast path does not take: DuckDB answers them.
        const shapes = [
          `SELECT * FROM sys_invocation WHERE id = '${id}'`,
          `SELECT * FROM sys_invocation_status WHERE id = '${id}'`,
          `SELECT status, retry_count, last_failure, target, journal_size FROM sys_invocation inv WHERE inv.id = '${id}'`,
          `SELECT * FROM sys_journal WHERE id = '${id}' ORDER BY index`,
          `SELECT sj.index, sj.entry_type, sj.name, sj.completed, sj.entry_json, sj.raw FROM sys_journal sj WHERE sj.id = '${id}' ORDER BY sj.index DESC LIMIT 2 OFFSET 1`,
        ];
        for (const sql of shapes) {
          const viaDuckDB = sql.replace(/WHERE (\S+) = ('[^']*')/, "WHERE $1 = $2 AND true");
          for (const accept of ["application/json", ARROW]) {
            const fast = await answer(sql, accept);
            assert.deepEqual(fast, await answer(viaDuckDB, accept), `${state}: ${sql} (${accept})`);
            if (accept !== ARROW && sql.includes("sys_journal")) journalRows += (JSON.parse(fast.toString()) as { rows: unknown[] }).rows.length;
          }
        }
        const [row] = (JSON.parse((await answer(`SELECT status FROM sys_invocation WHERE id = '${id}'`, "application/json")).toString()) as { rows: { status: string }[] }).rows;
        const expected = { completed: "completed", held: "suspended", inboxed: "pending", flaky: "backing-off", missing: undefined }[state];
        if (state !== "held") assert.equal(row?.status, expected, state);
      }
      assert.ok(journalRows > 5, `journals were compared (${journalRows} rows)`);
    });
  });
});
