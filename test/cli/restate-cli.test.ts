import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";
import { counter, greeter, heldAwakeables } from "../support/example-services.ts";
import type { InvocationId } from "../../src/types/ids.ts";

/** The npm package's launcher, which runs the native binary of this platform. */
const CLI = createRequire(import.meta.url).resolve("@restatedev/restate/lib/index.js");

describe("the real restate CLI against Reprise's admin API", () => {
  let fixture: Fixture;
  let ingress: string;
  let admin: string;
  let greetId: string;

  /** Runs `restate <args>` with a throwaway config home, so no login, profile or cloud setting applies. */
  const cli = (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const env = {
        PATH: process.env.PATH ?? "",
        HOME: join(fixture.dir, "home"),
        RESTATE_CLI_CONFIG_HOME: join(fixture.dir, "restate-cli"),
        RESTATE_ADMIN_URL: admin,
        NO_COLOR: "1",
        TERM: "dumb",
      };
      execFile(process.execPath, [CLI, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`restate ${args.join(" ")} failed: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
        else resolve({ stdout, stderr });
      });
    });

  const statusOf = async (id: string): Promise<Record<string, unknown> | undefined> => {
    const res = await fetch(`${admin}/query`, {
      method: "POST",
      headers: { accept: "application/json" },
      body: JSON.stringify({ query: `SELECT status, completion_failure FROM sys_invocation WHERE id = '${id}'` }),
    });
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows[0];
  };

  const hold = async (key: string): Promise<string> => {
    const { invocationId } = (await (await callJson(ingress, `/Counter/${key}/hold/send`)).json()) as { invocationId: string };
    await eventually(() => heldAwakeables.has(key), 10_000, `${key} to hold its key`);
    return invocationId;
  };

  before(async () => {
    fixture = await startFixture({ services: [greeter, counter] });
    ({ ingress, admin } = fixture);
    const greet = await callJson(ingress, "/Greeter/greet", "Ada");
    assert.equal(greet.status, 200);
    greetId = greet.headers.get("x-restate-id")!;
  });

  after(() => fixture.stop());

  it("services list", async () => {
    const { stdout, stderr } = await cli("services", "list");
    assert.match(stdout, /Counter\s+1\s+virtual object/);
    assert.match(stdout, /Greeter\s+1\s/);
    assert.doesNotMatch(stdout + stderr, /WARNING|could not verify/i, "the CLI negotiated the admin API version");
  });

  it("invocations list and describe", async () => {
    const holder = await hold("listed");
    const active = await cli("invocations", "list");
    assert.match(active.stdout, new RegExp(`${holder}[\\s\\S]*Target:\\s+Counter/listed/hold[\\s\\S]*Status:\\s+running`));
    assert.doesNotMatch(active.stdout, new RegExp(greetId), "completed invocations are listed only with --all");
    assert.match(active.stderr, /Showing 1\/1 invocations/);

    const all = await cli("invocations", "list", "--all", "--service", "Greeter");
    assert.match(all.stdout, new RegExp(`${greetId}[\\s\\S]*Status:\\s+completed with success`));

    const { stdout } = await cli("invocations", "describe", greetId);
    assert.match(stdout, /Target:\s+Greeter\/greet/);
    assert.match(stdout, /Status:\s+completed with success/);
    assert.match(stdout, /#0 \[[^\]]+\] Command: Input/);
    assert.match(stdout, /#1 \[[^\]]+\] Command: Run \[compose\]/);
    assert.match(stdout, /#3 \[[^\]]+\] Command: Output/);
  });

  it("sql, as a table and as JSON", async () => {
    const table = await cli("sql", `SELECT id, target, status FROM sys_invocation WHERE id = '${greetId}'`);
    assert.match(table.stdout, /ID\s+TARGET\s+STATUS/);
    assert.match(table.stdout, new RegExp(`${greetId}\\s+Greeter/greet\\s+completed`));
    assert.match(table.stderr, /1 rows/);
    // Columns may share a name, as in joins.
    const joined = await cli("sql", `SELECT i.id, j.id, j.index FROM sys_invocation i JOIN sys_journal j ON j.id = i.id WHERE i.id = '${greetId}' AND j.index = 1`);
    assert.match(joined.stdout, new RegExp(`ID\\s+ID\\s+INDEX\\s+${greetId}\\s+${greetId}\\s+1`));
    const json = await cli("sql", "--json", "SELECT target_service_name AS service, COUNT(*) AS n FROM sys_invocation GROUP BY service ORDER BY service");
    assert.deepEqual(JSON.parse(json.stdout), [
      { service: "Counter", n: 1 },
      { service: "Greeter", n: 1 },
    ]);
  });

  it("invocations cancel, kill and purge", async () => {
    const toCancel = await hold("cancelled");
    await cli("--yes", "invocations", "cancel", toCancel);
    await eventually(async () => (await statusOf(toCancel))?.status === "completed", 10_000, "cancellation");
    assert.match(String((await statusOf(toCancel))?.completion_failure), /\[409\]/);

    const toKill = await hold("killed");
    await cli("--yes", "invocations", "kill", toKill);
    await eventually(async () => (await statusOf(toKill))?.status === "completed", 10_000, "kill");
    assert.equal((await statusOf(toKill))?.completion_failure, "[409] killed");

    await cli("--yes", "invocations", "purge", greetId);
    await eventually(async () => (await statusOf(greetId)) === undefined, 10_000, "purge");
  });

  it("invocations pause, resume and restart-as-new", async () => {
    const toPause = await hold("paused");
    await cli("--yes", "invocations", "pause", toPause);
    await eventually(async () => (await statusOf(toPause))?.status === "paused", 10_000, "pause");
    await cli("--yes", "invocations", "resume", toPause);
    await eventually(async () => (await statusOf(toPause))?.status !== "paused", 10_000, "resume");
    // The resumed attempt replays the journal up to the awakeable it published, and waits on it again.
    assert.equal((await fetch(`${ingress}/restate/awakeables/${heldAwakeables.get("paused")}/resolve`, { method: "POST", body: '"go"' })).status, 202);
    await eventually(async () => (await statusOf(toPause))?.status === "completed", 10_000, "the resumed invocation to complete");

    const { stdout } = await cli("--yes", "invocations", "restart-as-new", toPause);
    // The CLI prints a table of old and new ids.
    const restarted = new RegExp(`Restarted 1 invocations[\\s\\S]*${toPause}\\s+(inv_[0-9A-Za-z]+)`).exec(stdout)?.[1];
    assert.ok(restarted !== undefined, `no new invocation id in: ${stdout}`);
    await eventually(() => fixture.node.dispatcher.status(restarted as InvocationId)?.status === "invoked", 10_000, "the restarted invocation to run");
    assert.equal(fixture.node.dispatcher.status(restarted as InvocationId)?.restartedFrom, toPause);
  });

  it("services config patch and view; state get and clear", async () => {
    await cli("--yes", "services", "config", "patch", "Greeter", "--idempotency-retention", "2h", "--inactivity-timeout", "90s");
    const { stdout } = await cli("services", "config", "view", "Greeter");
    assert.match(stdout, /Idempotent requests retention:\s+2h/);
    assert.match(stdout, /Inactivity timeout:\s+1m 30s/);
    const service = (await (await fetch(`${admin}/services/Greeter`)).json()) as { idempotency_retention: string };
    assert.equal(service.idempotency_retention, "2h");

    assert.equal(await (await callJson(ingress, "/Counter/stateful/add", 5)).json(), 5);
    assert.match((await cli("state", "get", "Counter", "stateful")).stdout, /value\s+5/);
    await cli("--yes", "state", "clear", "Counter/stateful");
    await eventually(async () => (await (await callJson(ingress, "/Counter/stateful/add", 1)).json()) === 1, 10_000, "the cleared state to read as empty");
  });
});
