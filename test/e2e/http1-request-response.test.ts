import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { callJson, registerDeployment, tempDir } from "../support/reprise.ts";
import { startServerProcess, type ServerProcess } from "../support/reprise-server.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";

// What the handlers did, as they saw it: the test's source of truth about side effects.
const runs = new Map<string, number>();
const completed = new Map<string, number>();
const stored = new Map<string, () => void>();
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx: restate.Context, name: string) => ctx.run("compose", () => `Hello, ${name}!`),
    fail: async (_ctx: restate.Context, reason: string) => {
      throw new restate.TerminalError(`refused: ${reason}`, { errorCode: 409 });
    },
  },
});

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number) => {
      const next = ((await ctx.get<number>("value")) ?? 0) + n;
      ctx.set("value", next);
      return next;
    },
    get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => (await ctx.get<number>("value")) ?? 0),
  },
});

const caller = restate.service({
  name: "Caller",
  handlers: {
    /** A call and a one-way send: each result a request/response SDK waits for is a suspension. */
    orchestrate: async (ctx: restate.Context, who: string) => {
      const greeting = await ctx.serviceClient(greeter).greet(who);
      const total = await ctx.objectClient(counter, `calls-${who}`).add(10);
      return { greeting, total };
    },
  },
});

const sleeper = restate.service({
  name: "Sleeper",
  handlers: {
    nap: async (ctx: restate.Context, tag: string) => {
      await ctx.run("started", () => void bump(runs, `nap:${tag}`));
      stored.get(tag)?.();
      await ctx.sleep(1500);
      await ctx.run("completed", () => void bump(completed, `nap:${tag}`));
      return tag;
    },
  },
});

const effects = restate.service({
  name: "Effects",
  handlers: {
    once: async (ctx: restate.Context, tag: string) => {
      await ctx.run("effect", () => void bump(runs, `effect:${tag}`));
      // The effect's result is durable once ctx.run returns: the moment the test kills the server.
      stored.get(tag)?.();
      await ctx.sleep(300);
      await ctx.run("completed", () => void bump(completed, `effect:${tag}`));
      return tag;
    },
  },
});

/**
 * The SDK's Node handler on a plain HTTP/1.1 server (as on hosts without HTTP/2) answers in
 * request/response mode: every step that waits for the runtime ends the request with a
 * suspension, and the next attempt replays the journal.
 */
describe("HTTP/1.1 request/response deployments", () => {
  const dir = tempDir();
  let sdk: SdkEndpoint;
  let server: ServerProcess;

  before(async () => {
    sdk = await startSdkEndpoint([greeter, counter, caller, sleeper, effects], { http1: true });
    server = await startServerProcess(dir.path, ["--partitions", "2"]);
    const registered = await registerDeployment(server.admin, sdk.url, { use_http_11: true });
    assert.equal(registered.status, 201, await registered.clone().text());
  });

  after(async () => {
    await server?.stop();
    await sdk?.close();
    dir.remove();
  });

  const restart = async () => {
    await server.kill9();
    server = await startServerProcess(dir.path, ["--partitions", "2"]);
  };

  it("is registered as HTTP/1.1 request/response, as discovery over HTTP/1.1 said", async () => {
    const { deployments } = (await (await fetch(`${server.admin}/deployments`)).json()) as { deployments: { http_version: string; protocol_type: string }[] };
    assert.deepEqual(deployments.map((d) => [d.http_version, d.protocol_type]), [["HTTP/1.1", "RequestResponse"]]);
  });

  it("basic: runs, fails terminally, serialises an object and calls between handlers", async () => {
    const greet = await callJson(server.ingress, "/Greeter/greet", "Ada");
    assert.equal(greet.status, 200);
    assert.equal(await greet.json(), "Hello, Ada!");

    const failed = await callJson(server.ingress, "/Greeter/fail", "nope");
    assert.equal(failed.status, 409);
    assert.match(((await failed.json()) as { message: string }).message, /refused: nope/);

    const results = await Promise.all(Array.from({ length: 16 }, () => callJson(server.ingress, "/Counter/hot/add", 1).then((r) => r.json())));
    assert.deepEqual((results as number[]).sort((a, b) => a - b), Array.from({ length: 16 }, (_, i) => i + 1));
    assert.equal(await (await callJson(server.ingress, "/Counter/hot/get")).json(), 16);

    const orchestrated = await callJson(server.ingress, "/Caller/orchestrate", "Grace");
    assert.equal(orchestrated.status, 200);
    assert.deepEqual(await orchestrated.json(), { greeting: "Hello, Grace!", total: 10 });
  });

  it("completes a ctx.sleep exactly once across a kill -9 and restart", async () => {
    const wasStored = new Promise<void>((r) => stored.set("nap-1", r));
    assert.equal((await callJson(server.ingress, "/Sleeper/nap/send", "nap-1")).status, 202);
    await wasStored;
    await restart();
    await eventually(() => completed.get("nap:nap-1") === 1, 20_000, "the sleep to complete after the restart");
    assert.equal(runs.get("nap:nap-1"), 1, "the step before the sleep ran again");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(completed.get("nap:nap-1"), 1);
  });

  it("never re-runs a ctx.run whose result was stored before the crash", async () => {
    const wasStored = new Promise<void>((r) => stored.set("eff-1", r));
    assert.equal((await callJson(server.ingress, "/Effects/once/send", "eff-1")).status, 202);
    await wasStored;
    await restart();
    await eventually(() => completed.get("effect:eff-1") === 1, 20_000, "the invocation to complete after the restart");
    assert.equal(runs.get("effect:eff-1"), 1, "the side effect ran again after its result was stored");
  });
});
