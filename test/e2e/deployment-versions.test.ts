import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson, registerDeployment } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import type { InvocationId } from "../../src/types/ids.ts";

/** Awakeable ids by tag, and the attempts each deployment's code ran, by `<version>:<tag>`. */
const awakeables = new Map<string, string>();
const attempts = new Map<string, number>();

/** The same service in two versions: its journal has the same shape, only the answer says which code ran. */
const versioned = (version: "A" | "B") =>
  restate.service({
    name: "Versioned",
    handlers: {
      run: async (ctx: restate.Context, tag: string) => {
        attempts.set(`${version}:${tag}`, (attempts.get(`${version}:${tag}`) ?? 0) + 1);
        const { id, promise } = ctx.awakeable<string>();
        await ctx.run("publish", () => void awakeables.set(tag, id));
        return `${version}:${await promise}`;
      },
    },
  });

/** A virtual object in B, a plain service in the endpoint that would replace it: a breaking change. */
const shapeObject = restate.object({ name: "Shape", handlers: { get: async () => "object" } });
const shapeService = restate.service({ name: "Shape", handlers: { get: async () => "service" } });

interface DeploymentJson {
  id: string;
  uri: string;
  additional_headers: Record<string, string>;
  services: { name: string; revision: number }[];
}

describe("deployments: pinning and versioned registration", () => {
  let fixture: Fixture;
  let b: SdkEndpoint;
  let breaking: SdkEndpoint;
  let admin: string;
  let ingress: string;
  let idA: string;
  let idB: string;
  let first: string;
  let stuck: string;

  const deployments = async () => ((await (await fetch(`${admin}/deployments`)).json()) as { deployments: DeploymentJson[] }).deployments;
  const sql = async (query: string) => {
    const res = await fetch(`${admin}/query`, { method: "POST", headers: { accept: "application/json" }, body: JSON.stringify({ query }) });
    return ((await res.json()) as { rows: Record<string, unknown>[] }).rows;
  };
  const statusOf = async (id: string) => fixture.node.dispatcher.status(id as InvocationId)?.status;
  const resolve = async (tag: string, value: string) => {
    const res = await fetch(`${ingress}/restate/awakeables/${awakeables.get(tag)}/resolve`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(value),
    });
    assert.equal(res.status, 202);
  };
  const attach = async (id: string) => (await fetch(`${ingress}/restate/invocation/${id}/attach`)).json();
  /** Starts `Versioned/run` and waits until it is suspended on its awakeable. */
  const startSuspended = async (tag: string) => {
    const { invocationId } = (await (await callJson(ingress, "/Versioned/run/send", tag)).json()) as { invocationId: string };
    await eventually(() => awakeables.has(tag), 10_000, `${tag} to publish its awakeable`);
    await eventually(async () => (await statusOf(invocationId)) === "suspended", 10_000, `${tag} to suspend`);
    return invocationId;
  };
  const errorOf = async (res: Response) => ((await res.json()) as { message: string; error_code?: string });

  before(async () => {
    // A short inactivity timeout makes a waiting handler suspend soon.
    fixture = await startFixture({ services: [versioned("A")], config: { invoker: { inactivityTimeoutMs: 300 } } });
    ({ admin, ingress } = fixture);
    b = await startSdkEndpoint([versioned("B"), shapeObject]);
    breaking = await startSdkEndpoint([shapeService]);
    idA = (await deployments())[0].id;
  });

  after(async () => {
    await b?.close();
    await breaking?.close();
    await fixture.stop();
  });

  it("an invocation suspended on A finishes on A after B is registered, while new ones run on B", async () => {
    first = await startSuspended("first");
    stuck = await startSuspended("stuck");

    const registered = await registerDeployment(admin, b.url);
    assert.equal(registered.status, 201);
    idB = ((await registered.json()) as { id: string }).id;
    assert.equal(registered.headers.get("location"), `deployments/${idB}`);
    const all = await deployments();
    assert.deepEqual(all.find((d) => d.id === idA)?.services.map((s) => [s.name, s.revision]), [["Versioned", 1]]);
    assert.deepEqual(all.find((d) => d.id === idB)?.services.map((s) => [s.name, s.revision]), [["Shape", 1], ["Versioned", 2]]);

    const second = (await (await callJson(ingress, "/Versioned/run/send", "second")).json()) as { invocationId: string };
    await eventually(() => awakeables.has("second"), 10_000, "the new invocation to start");
    assert.equal(attempts.get("A:second"), undefined, "a new invocation started on A");
    await resolve("second", "new");
    assert.equal(await attach(second.invocationId), "B:new");

    await resolve("first", "old");
    assert.equal(await attach(first), "A:old");
    assert.ok((attempts.get("A:first") ?? 0) >= 2, "the resumed invocation replayed on A");
    assert.equal(attempts.get("B:first"), undefined, "the pinned invocation ran on B's code");
  });

  it("removal without force refuses the active deployment and one with pinned unfinished invocations", async () => {
    const active = await fetch(`${admin}/deployments/${idB}`, { method: "DELETE" });
    assert.equal(active.status, 409);
    const activeError = await errorOf(active);
    assert.equal(activeError.error_code, "deployment_active");
    assert.match(activeError.message, new RegExp(`${idB}.*'Versioned'`));

    const draining = await fetch(`${admin}/deployments/${idA}?force=false`, { method: "DELETE" });
    assert.equal(draining.status, 409);
    assert.match((await errorOf(draining)).message, new RegExp(`${idA} is still draining: 1 unfinished invocation`));
    assert.equal((await deployments()).length, 2, "nothing removed");
  });

  it("answers a known address as unchanged (200, 409 on admin API v2) and a dry run changes nothing", async () => {
    const before = await deployments();
    const again = await registerDeployment(admin, b.url);
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { id: string }).id, idB);
    const v2 = await fetch(`${admin}/v2/deployments`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ uri: b.url, force: false }) });
    assert.equal(v2.status, 409);
    assert.match((await errorOf(v2)).message, new RegExp(`deployment ${idB} already exists`));

    const dry = await registerDeployment(admin, b.url, { force: true, dry_run: true });
    assert.equal(dry.status, 200);
    const dryBody = (await dry.json()) as { id: string; services: { name: string; revision: number }[] };
    assert.equal(dryBody.id, idB);
    assert.deepEqual(dryBody.services.map((s) => [s.name, s.revision]).sort(), [["Shape", 2], ["Versioned", 3]], "a forced registration would make new revisions");
    assert.deepEqual(await deployments(), before, "the dry run changed nothing");
  });

  it("refuses a service type change unless breaking changes are allowed", async () => {
    const refused = await registerDeployment(admin, breaking.url);
    assert.equal(refused.status, 409);
    const e = await errorOf(refused);
    assert.equal(e.error_code, "breaking_change");
    assert.match(e.message, /'Shape'.*virtual object.*→ service/);
    assert.equal((await deployments()).length, 2);
    assert.equal((await registerDeployment(admin, breaking.url, { breaking: true, dry_run: true })).status, 201);
    assert.equal((await deployments()).length, 2, "a dry run registers nothing");
  });

  it("PATCH changes a deployment's headers without touching its services", async () => {
    const res = await fetch(`${admin}/deployments/${idB}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ additional_headers: { "x-tenant": "t1" } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as DeploymentJson;
    assert.deepEqual(body.additional_headers, { "x-tenant": "t1" });
    assert.deepEqual(body.services.map((s) => [s.name, s.revision]), [["Shape", 1], ["Versioned", 2]]);
    assert.deepEqual((await deployments()).find((d) => d.id === idB)?.additional_headers, { "x-tenant": "t1" });
  });

  it("an invocation pinned to a forcibly removed deployment waits with a clear reason, until moved to another", async () => {
    const removed = await fetch(`${admin}/deployments/${idA}?force=true`, { method: "DELETE" });
    assert.equal(removed.status, 202);
    assert.deepEqual((await deployments()).map((d) => d.id), [idB]);

    const patchRemoved = await fetch(`${admin}/deployments/${idA}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ uri: b.url }) });
    assert.equal(patchRemoved.status, 404);
    assert.match((await errorOf(patchRemoved)).message, new RegExp(`deployment '${idA}' not found`));

    await resolve("stuck", "late");
    await eventually(async () => {
      const [row] = await sql(`SELECT last_failure FROM sys_invocation_state WHERE id = '${stuck}'`);
      return typeof row?.last_failure === "string" && row.last_failure.includes(`pinned to deployment ${idA}, which is no longer registered`);
    }, 10_000, "the pinned invocation to report its removed deployment");
    assert.equal(await statusOf(stuck), "invoked");
    assert.equal(attempts.get("B:stuck"), undefined, "the invocation left its pinned deployment by itself");

    const paused = await fetch(`${admin}/invocations/${stuck}/pause`, { method: "PATCH" });
    assert.ok(paused.status === 200 || paused.status === 202, `pause answered ${paused.status}`);
    await eventually(async () => (await statusOf(stuck)) === "paused", 10_000, "the invocation to pause");
    const onRemoved = await fetch(`${admin}/invocations/${stuck}/resume?deployment=${idA}`, { method: "PATCH" });
    assert.equal(onRemoved.status, 400, "resuming on the removed deployment");
    assert.equal((await errorOf(onRemoved)).error_code, "deployment_not_found");
    assert.equal(await statusOf(stuck), "paused", "the refused resume changed nothing");

    const moved = await fetch(`${admin}/invocations/${stuck}/resume?deployment=${idB}`, { method: "PATCH" });
    assert.ok(moved.status < 300, `resume on ${idB} answered ${moved.status}`);
    assert.equal(await attach(stuck), "B:late");
  });

  it("bad input: a dry run of an unreachable endpoint is a 400 naming it, and nothing changes", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const before = await deployments();
    const res = await registerDeployment(admin, url, { dry_run: true });
    assert.equal(res.status, 400);
    const e = await errorOf(res);
    assert.equal(e.error_code, "deployment_unreachable");
    assert.ok(e.message.includes(url), e.message);
    assert.deepEqual(await deployments(), before);
    const bad = await registerDeployment(admin, b.url, { force: "yes" });
    assert.equal(bad.status, 400);
    assert.match((await errorOf(bad)).message, /'force' must be true or false/);
  });
});
