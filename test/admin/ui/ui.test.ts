import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import * as restate from "@restatedev/restate-sdk";
import { launchBrowser, type TestBrowser } from "../../support/browser.ts";
import { eventually } from "../../support/eventually.ts";
import { counter, greeter, heldAwakeables } from "../../support/example-services.ts";
import { startFixture, type Fixture } from "../../support/fixture.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../../support/sdk-endpoint.ts";

// The web UI in Debian's Chromium against an in-process node with real invocations of real SDK
// services. Each test opens one page, checks what it shows, and leaves a screenshot in .artifacts/ui/.

/** Fails every attempt after journaling one step, so it keeps retrying: a backing-off invocation. */
const flaky = restate.service({
  name: "Flaky",
  handlers: {
    boom: async (ctx: restate.Context) => {
      await ctx.run("step", () => "done");
      throw new Error("flaky step exploded");
    },
    refuse: async () => {
      throw new restate.TerminalError("refused on purpose", { errorCode: 409 });
    },
  },
});

/** Registered from the UI's deployment form. */
const extra = restate.service({ name: "Extra", handlers: { ping: async () => "pong" } });

const post = (url: string, body?: unknown) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

async function query(f: Fixture, sql: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${f.admin}/query`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json" }, body: JSON.stringify({ query: sql }) });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
}

async function invocationId(f: Fixture, target: string): Promise<string> {
  let id = "";
  await eventually(async () => {
    const rows = await query(f, `SELECT id FROM sys_invocation WHERE target = '${target}'`);
    assert.equal(rows.length, 1, `one invocation of ${target}`);
    id = String(rows[0]!.id);
    return true;
  });
  return id;
}

describe("web UI in a browser", () => {
  let f: Fixture;
  let b: TestBrowser;
  let extraEndpoint: SdkEndpoint;
  let page: Page;
  const ids: Record<string, string> = {};
  const shots: string[] = [];

  /** Opens a UI page: `path` is below /ui. */
  const open = async (path: string) => {
    await page.goto(`${f.admin}/ui${path === "/" ? "" : path}`);
    await page.waitForSelector("[data-started] .content");
  };
  const shot = async (name: string) => shots.push(await b.screenshot(page, name));

  before(async () => {
    f = await startFixture({ services: [greeter, counter, flaky] });
    extraEndpoint = await startSdkEndpoint([extra]);
    b = await launchBrowser();
    page = await b.newPage();
    for (const name of ["Ada", "Grace", "Linus"]) assert.equal((await post(`${f.ingress}/Greeter/greet`, name)).status, 200);
    assert.equal((await post(`${f.ingress}/Counter/alice/add`, 3)).status, 200);
    assert.equal((await post(`${f.ingress}/Counter/held/hold/send`)).status, 202);
    await eventually(() => heldAwakeables.has("held"), 5_000, "hold to publish its awakeable");
    // Queued behind the held key: pending until hold ends.
    assert.equal((await post(`${f.ingress}/Counter/held/add/send`, 1)).status, 202);
    assert.equal((await post(`${f.ingress}/Flaky/boom/send`)).status, 202);
    assert.equal((await post(`${f.ingress}/Flaky/refuse`)).status, 409);
    ids.greet = String((await query(f, "SELECT id FROM sys_invocation WHERE target = 'Greeter/greet' ORDER BY created_at LIMIT 1"))[0]!.id);
    ids.hold = await invocationId(f, "Counter/held/hold");
    ids.boom = await invocationId(f, "Flaky/boom");
    await eventually(async () => {
      const [row] = await query(f, `SELECT retry_count FROM sys_invocation WHERE id = '${ids.boom}'`);
      assert.ok(Number(row!.retry_count ?? 0) >= 2, "Flaky/boom has retried");
      return true;
    }, 10_000);
  });

  after(async () => {
    await b?.close();
    await extraEndpoint?.close();
    await f?.stop();
    if (shots.length > 0) console.log(`screenshots:\n${shots.join("\n")}`);
  });

  it("redirects / to /ui and shows counts per status and per service on the overview", async () => {
    const res = await fetch(`${f.admin}/`, { redirect: "manual" });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), "/ui");
    await page.goto(`${f.admin}/`);
    await page.waitForSelector("[data-started] .content");
    assert.equal(new URL(page.url()).pathname, "/ui");
    await page.waitForSelector('.count-chip[data-status="succeeded"]');
    const count = (status: string) => page.textContent(`.count-chip[data-status="${status}"] .count-n`);
    await eventually(async () => {
      assert.equal(await count("succeeded"), "4");
      assert.equal(await count("failed"), "1");
      assert.equal(await count("pending"), "1");
      return true;
    });
    for (const service of ["Greeter", "Counter", "Flaky"]) assert.ok(await page.isVisible(`tr[data-service="${service}"]`), service);
    await shot("overview");
  });

  it("lists invocations, filters them from the query bar and the status chips, and refreshes live", async () => {
    await open("/invocations");
    await page.waitForSelector("table.invocations tbody tr");
    assert.equal(await page.locator("table.invocations tbody tr").count(), 8);
    await shot("invocations");

    await page.fill("input.query-input", "service:Counter key:held");
    await page.press("input.query-input", "Enter");
    await eventually(async () => {
      assert.equal(await page.locator("table.invocations tbody tr").count(), 2);
      return true;
    }, 5_000);
    assert.match(page.url(), /q=service%3ACounter/);
    await page.click('.count-chip[data-status="pending"]');
    await eventually(async () => {
      assert.equal(await page.locator("table.invocations tbody tr").count(), 1);
      return true;
    }, 5_000);
    assert.equal(await page.textContent("table.invocations tbody .badge"), "pending");
    await shot("invocations-filtered");

    await page.fill("input.query-input", "bogus:1");
    await page.press("input.query-input", "Enter");
    await page.waitForSelector(".error-box");
    assert.match((await page.textContent(".error-box"))!, /unknown filter 'bogus'/);

    // Oldest first; a whole invocation id typed in the bar opens that invocation.
    await open("/invocations?sort=oldest");
    await page.waitForSelector("table.invocations tbody tr");
    assert.equal(await page.getAttribute("table.invocations tbody tr >> nth=0", "data-invocation-id"), ids.greet);
    await page.fill("input.query-input", ids.hold!);
    await page.press("input.query-input", "Enter");
    await page.waitForURL(`**/ui/invocations/${ids.hold}`);
    await page.waitForSelector('[data-action="cancel"]');

    // Live: a new invocation shows up without reloading.
    await open(`/invocations?q=${encodeURIComponent("service:Greeter")}`);
    await eventually(async () => {
      assert.equal(await page.locator("table.invocations tbody tr").count(), 3);
      return true;
    }, 5_000);
    assert.equal((await post(`${f.ingress}/Greeter/greet`, "Barbara")).status, 200);
    await eventually(async () => {
      assert.equal(await page.locator("table.invocations tbody tr").count(), 4);
      return true;
    }, 10_000);
  });

  it("shows an invocation's journal as a timeline", async () => {
    await open(`/invocations/${ids.greet}`);
    await page.waitForSelector(".entries .entry");
    const types = await page.locator(".entries .entry").evaluateAll((els) => els.map((e) => e.getAttribute("data-entry-type")));
    assert.deepEqual(types.slice(0, 2), ["Input", "Run"]);
    assert.ok(types.includes("Output"), `an Output entry in ${types.join(", ")}`);
    assert.match((await page.textContent('.entry[data-entry-type="Run"] .entry-name'))!, /compose/);
    // Results: the run's completion and the output, decoded from entry_json; the input's payload.
    assert.match((await page.textContent('.entry[data-entry-type="Run"] .outcome'))!, /"Hello, Ada!"/);
    assert.match((await page.textContent('.entry[data-entry-type="Output"] .outcome'))!, /"Hello, Ada!"/);
    assert.match((await page.textContent('.entry[data-entry-type="Input"] .outcome'))!, /"Ada"/);
    assert.ok(await page.isVisible('.badge[data-status="succeeded"]'));
    await shot("invocation-journal");

    // Restart as new: a fresh invocation of the same handler and input, opened in its place.
    await page.click('[data-action="restart-as-new"]');
    await page.click('[data-confirm="restart-as-new"]');
    await page.waitForURL((url) => url.pathname.startsWith("/ui/invocations/") && !url.pathname.endsWith(ids.greet));
    await eventually(async () => {
      assert.equal(await page.getAttribute("h1 .badge", "data-status"), "succeeded");
      return true;
    }, 10_000);
  });

  it("shows a failing invocation's attempts and last failure", async () => {
    await open(`/invocations/${ids.boom}`);
    await page.waitForSelector(".failure-card");
    assert.match((await page.textContent(".failure-card"))!, /flaky step exploded/);
    assert.match((await page.textContent(".failure-card"))!, /\d+ attempts so far/);
    assert.match((await page.textContent(".fields"))!, /Flaky\/boom/);
    assert.match((await page.locator(".fields").allTextContents()).join(" "), /Attempts\s*[1-9]\d*/);
    // The journal shows the transient error after the step it followed.
    await page.waitForSelector('.entry[data-entry-type="Run"] .entry-event[data-event-type="TransientError"]');
    assert.match((await page.textContent('.entry[data-entry-type="Run"] .entry-event'))!, /flaky step exploded/);
    await shot("invocation-backing-off");
  });

  it("pauses and resumes a retrying invocation", async () => {
    await open(`/invocations/${ids.boom}`);
    await page.click('[data-action="pause"]');
    await page.click('[data-confirm="pause"]');
    await eventually(async () => {
      assert.equal(await page.getAttribute("h1 .badge", "data-status"), "paused");
      return true;
    }, 10_000);
    assert.equal(await page.locator('[data-action="pause"]').count(), 0);
    await shot("invocation-paused");
    await page.click('[data-action="resume"]');
    await page.click('[data-confirm="resume"]');
    await eventually(async () => {
      assert.notEqual(await page.getAttribute("h1 .badge", "data-status"), "paused");
      return true;
    }, 10_000);
  });

  it("cancels a held invocation from its page and shows the new status", async () => {
    await open(`/invocations/${ids.hold}`);
    await page.waitForSelector('[data-action="cancel"]');
    assert.notEqual(await page.getAttribute("h1 .badge", "data-status"), "failed");
    await shot("invocation-held");
    await page.click('[data-action="cancel"]');
    await page.click('[data-confirm="cancel"]');
    await page.waitForSelector('.notice[role="status"]');
    await eventually(async () => {
      assert.equal(await page.getAttribute("h1 .badge", "data-status"), "failed");
      return true;
    }, 15_000);
    // Purge is what is left to do with it.
    await page.waitForSelector('[data-action="purge"]');
    assert.equal(await page.locator('[data-action="cancel"]').count(), 0);
    await shot("invocation-cancelled");
  });

  it("shows services and their handlers", async () => {
    await open("/services");
    await page.waitForSelector('table[data-service="Counter"]');
    assert.ok(await page.isVisible('table[data-service="Counter"] tr[data-handler="hold"]'));
    assert.ok(await page.isVisible('table[data-service="Greeter"] tr[data-handler="greet"]'));
    await shot("services");
    await open("/services/Counter");
    await page.waitForSelector('tr[data-handler="add"]');
    assert.match((await page.textContent(".fields"))!, /VirtualObject/);
    await shot("service-counter");
  });

  it("registers a deployment from the UI and lists it", async () => {
    await open("/deployments");
    await page.waitForSelector("[data-deployment]");
    assert.equal(await page.locator("[data-deployment]").count(), 1);
    await page.fill('input[name="uri"]', "not a url");
    await page.click('form[data-form="register-deployment"] button[type="submit"]');
    await page.waitForSelector(".error-box");
    assert.match((await page.textContent(".error-box"))!, /not a valid URL/);
    await page.fill('input[name="uri"]', extraEndpoint.url);
    await page.click('form[data-form="register-deployment"] button[type="submit"]');
    await page.waitForSelector('.notice[role="status"]');
    assert.match((await page.textContent('.notice[role="status"]'))!, /Extra/);
    await eventually(async () => {
      assert.equal(await page.locator("[data-deployment]").count(), 2);
      return true;
    }, 5_000);
    await shot("deployments");
    assert.equal((await post(`${f.ingress}/Extra/ping`)).status, 200);
  });

  it("shows and edits the state of a virtual object key", async () => {
    await open("/state?service=Counter&key=alice");
    await page.waitForSelector('tr[data-state-key="value"]');
    assert.equal((await page.textContent('tr[data-state-key="value"] pre'))!.trim(), "3");
    assert.ok(await page.isVisible('a[data-key="alice"]'));
    await shot("state");
    await page.click('[data-action="edit-state"]');
    await page.fill('[data-draft-key="value"] textarea', "42");
    await page.click('[data-action="add-entry"]');
    await page.locator('input[name="state-key"]').last().fill("note");
    await page.locator('textarea[name="state-value"]').last().fill('"edited in the UI"');
    await shot("state-editing");
    await page.click('[data-action="save-state"]');
    await page.waitForSelector('.notice[role="status"]');
    await eventually(async () => {
      assert.equal((await page.textContent('tr[data-state-key="value"] pre'))!.trim(), "42");
      assert.ok(await page.isVisible('tr[data-state-key="note"]'));
      return true;
    });
    // The handler sees the edited state.
    const res = await post(`${f.ingress}/Counter/alice/add`, 1);
    assert.equal(await res.json(), 43);
    await shot("state-edited");
  });

  it("runs SQL and shows rows as a table, and a bad query as an error message", async () => {
    await open("/sql");
    await page.fill('textarea[name="query"]', "SELECT target, status FROM sys_invocation WHERE target_service_name = 'Greeter' ORDER BY target");
    await page.click(".sql-form button[type=submit]");
    await page.waitForSelector('table[data-result="sql"] tbody tr');
    // Three greetings, one more while the list was live, one restarted as new.
    assert.equal(await page.locator('table[data-result="sql"] tbody tr').count(), 5);
    assert.deepEqual(await page.locator('table[data-result="sql"] th').allTextContents(), ["target", "status"]);
    await shot("sql");
    await page.fill('textarea[name="query"]', "SELECT nothing FROM no_such_table");
    await page.press('textarea[name="query"]', "Control+Enter");
    await page.waitForSelector(".error-box");
    const error = (await page.textContent(".error-box"))!;
    assert.match(error, /The query failed/);
    assert.match(error, /400/);
    assert.match(error, /no_such_table/);
    assert.equal(await page.locator('table[data-result="sql"]').count(), 0);
    await shot("sql-error");
  });

  it("shows the cluster: nodes, partitions with leader, epoch and applied LSN, logs with segments", async () => {
    await open("/cluster");
    await page.waitForSelector('table[data-table="partitions"] tbody tr');
    assert.equal(await page.locator('table[data-table="nodes"] tbody tr').count(), 1);
    assert.match((await page.textContent('table[data-table="nodes"]'))!, /alive/);
    const partitions = page.locator('table[data-table="partitions"] tbody tr');
    assert.equal(await partitions.count(), 2);
    for (const row of await partitions.all()) {
      assert.match((await row.textContent())!, /leader/);
      const cells = await row.locator("td").allTextContents();
      assert.ok(Number(cells[7]) > 0, `applied LSN in ${cells.join(" | ")}`);
    }
    assert.ok((await page.locator('table[data-table="logs"] tbody tr').count()) >= 2);
    assert.match((await page.textContent('table[data-table="logs"]'))!, /local/);
    await shot("cluster");
  });

  it("shows an unknown page and a server failure as messages, not a blank page", async () => {
    await open("/no-such-page");
    assert.match((await page.textContent(".error-box"))!, /No such page/);
    await open("/invocations/inv_1notARealInvocationIdAtAll00");
    await page.waitForSelector(".error-box");
    assert.match((await page.textContent(".error-box"))!, /No such invocation|invalid|not/i);
    await shot("not-found");
    assert.deepEqual(b.pageErrors, [], "no uncaught errors in any page");
  });
});
