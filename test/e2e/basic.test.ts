import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { eventually } from "../support/eventually.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson } from "../support/reprise.ts";

const runExecutions = new Map<string, number>();
const received: string[] = [];

const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (ctx: restate.Context, name: string) => {
      const greeting = await ctx.run("compose", () => {
        runExecutions.set(name, (runExecutions.get(name) ?? 0) + 1);
        return `Hello, ${name}!`;
      });
      return greeting;
    },
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
    reset: async (ctx: restate.ObjectContext) => {
      ctx.clearAll();
    },
  },
});

const caller = restate.service({
  name: "Caller",
  handlers: {
    /** Calls Greeter and Counter (request-response), then sends to Sink (one-way). */
    orchestrate: async (ctx: restate.Context, who: string) => {
      const greeting = await ctx.serviceClient(greeter).greet(who);
      const total = await ctx.objectClient(counter, `calls-${who}`).add(10);
      ctx.serviceSendClient(sink).record(`sent by ${who}`);
      return { greeting, total };
    },
    callMissing: async (ctx: restate.Context) => {
      try {
        await ctx.genericCall({ service: "NoSuchService", method: "x", parameter: new Uint8Array(), inputSerde: restate.serde.binary, outputSerde: restate.serde.binary });
        return "unexpected success";
      } catch (e) {
        return e instanceof restate.TerminalError ? `terminal ${e.code}` : `other ${String(e)}`;
      }
    },
  },
});

const sink = restate.service({
  name: "Sink",
  handlers: {
    record: async (_ctx: restate.Context, what: string) => {
      received.push(what);
    },
  },
});

describe("single node: calling SDK handlers through the ingress", () => {
  let fixture: Fixture;
  let ingress: string;

  before(async () => {
    fixture = await startFixture({ services: [greeter, counter, caller, sink] });
    ({ ingress } = fixture);
  });

  after(() => fixture.stop());

  it("runs a stateless handler with ctx.run and returns its JSON result with x-restate-id", async () => {
    const res = await callJson(ingress, "/Greeter/greet", "Ada");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("x-restate-id") ?? "", /^inv_1[0-9a-zA-Z]{33}$/);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.equal(await res.json(), "Hello, Ada!");
    assert.equal(runExecutions.get("Ada"), 1);
  });

  it("returns a terminal error with the handler's status code and a JSON body", async () => {
    const res = await callJson(ingress, "/Greeter/fail", "nope");
    assert.equal(res.status, 409);
    const body = (await res.json()) as { code: number; message: string };
    assert.equal(body.code, 409);
    assert.match(body.message, /refused: nope/);
  });

  it("serialises 64 concurrent add(1) on one key to exactly 64, and keys stay independent", async () => {
    const results = await Promise.all(
      Array.from({ length: 64 }, () => callJson(ingress, "/Counter/hot/add", 1).then(async (r) => [r.status, await r.json()] as const)),
    );
    assert.ok(results.every(([s]) => s === 200));
    // Each call saw a distinct intermediate value: the object ran them one at a time.
    assert.deepEqual(results.map(([, v]) => v as number).sort((a, b) => a - b), Array.from({ length: 64 }, (_, i) => i + 1));
    assert.equal(await (await callJson(ingress, "/Counter/hot/get")).json(), 64);
    const other = await callJson(ingress, "/Counter/cold/add", 5);
    assert.equal(await other.json(), 5);
    assert.equal(await (await callJson(ingress, "/Counter/hot/get")).json(), 64);
  });

  it("lets a handler call other services and objects and send one-way messages", async () => {
    const res = await callJson(ingress, "/Caller/orchestrate", "Grace");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { greeting: "Hello, Grace!", total: 10 });
    await eventually(() => received.includes("sent by Grace"), 10_000, "one-way send to arrive");
  });

  it("fails a call to an unknown service inside the handler with a terminal error, not the caller", async () => {
    const res = await callJson(ingress, "/Caller/callMissing");
    assert.equal(res.status, 200);
    assert.equal(await res.json(), "terminal 404");
  });

  it("accepts a send with 202 and runs it later; a delayed send waits for its delay", async () => {
    const res = await callJson(ingress, "/Sink/record/send", "fire-and-forget");
    assert.equal(res.status, 202);
    const body = (await res.json()) as { invocationId: string; status: string };
    assert.equal(body.status, "Accepted");
    assert.equal(res.headers.get("x-restate-id"), body.invocationId);
    await eventually(() => received.includes("fire-and-forget"), 10_000, "send to run");

    const started = Date.now();
    const delayed = await callJson(ingress, "/Sink/record/send?delay=1s", "delayed");
    assert.equal(delayed.status, 202);
    await eventually(() => received.includes("delayed"), 10_000, "delayed send to run");
    assert.ok(Date.now() - started >= 1000, "delayed send ran before its delay");
  });

  it("sends to a virtual object with a key", async () => {
    const res = await callJson(ingress, "/Counter/sent/add/send", 3);
    assert.equal(res.status, 202);
    await eventually(async () => (await (await callJson(ingress, "/Counter/sent/get")).json()) === 3, 10_000, "object send");
  });
});
