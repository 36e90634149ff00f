import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { callJson, registerDeployment } from "../support/reprise.ts";

let release: (() => void) | null = null;

const slow = restate.service({
  name: "Slow",
  handlers: {
    /** Blocks until the test releases it, so bad requests run while it is in flight. */
    wait: async (ctx: restate.Context) => {
      await ctx.run("block", () => new Promise<void>((r) => (release = r)));
      return "finished";
    },
    echo: async (_ctx: restate.Context, v: unknown) => v,
  },
});

const store = restate.object({
  name: "Store",
  handlers: { put: async (ctx: restate.ObjectContext, v: string) => ctx.set("v", v) },
});

describe("bad input gets a clear 4xx and disturbs nothing", () => {
  let fixture: Fixture;
  let ingress: string;
  let admin: string;
  let plainHttp: http.Server;

  before(async () => {
    fixture = await startFixture({ services: [slow, store], config: { ingress: { port: 0, bodyLimitBytes: 1024 } } });
    ({ ingress, admin } = fixture);
    plainHttp = http.createServer((_q, r) => r.writeHead(200, { "content-type": "text/html" }).end("<html>hello</html>"));
    await new Promise<void>((r) => plainHttp.listen(0, "127.0.0.1", () => r()));
  });

  after(async () => {
    await fixture.stop();
    await new Promise<void>((r) => plainHttp.close(() => r()));
  });

  const errorBody = async (res: Response) => {
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = (await res.json()) as { message: string };
    assert.equal(typeof body.message, "string");
    return body.message;
  };

  it("keeps an in-flight invocation running while bad requests are rejected", async () => {
    const inFlight = callJson(ingress, "/Slow/wait");
    await new Promise<void>((resolve) => {
      const t = setInterval(() => release && (clearInterval(t), resolve()), 10);
    });

    const unknownService = await callJson(ingress, "/Nope/handler", 1);
    assert.equal(unknownService.status, 404);
    assert.match(await errorBody(unknownService), /service 'Nope' not found/);

    const unknownHandler = await callJson(ingress, "/Slow/nope", 1);
    assert.equal(unknownHandler.status, 404);
    assert.match(await errorBody(unknownHandler), /handler 'nope' was not found/);

    const malformed = await fetch(`${ingress}/Slow/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    assert.equal(malformed.status, 400);
    assert.match(await errorBody(malformed), /malformed JSON/);

    const tooLarge = await callJson(ingress, "/Slow/echo", "x".repeat(4096));
    assert.equal(tooLarge.status, 413);
    assert.match(await errorBody(tooLarge), /exceeds the limit of 1024 bytes/);

    const noKey = await callJson(ingress, "/Store/put", "v");
    assert.equal(noKey.status, 400);
    assert.match(await errorBody(noKey), /virtual object.*\/Store\/\{key\}\/put/);

    release!();
    const done = await inFlight;
    assert.equal(done.status, 200);
    assert.equal(await done.json(), "finished");
    const ok = await callJson(ingress, "/Slow/echo", { fine: true });
    assert.deepEqual(await ok.json(), { fine: true });
  });

  it("explains why an unreachable deployment cannot be registered, naming the URL", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const res = await registerDeployment(admin, `http://127.0.0.1:${port}`);
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    const message = await errorBody(res);
    assert.ok(message.includes(`127.0.0.1:${port}`), message);
    assert.match(message, /ECONNREFUSED|refused|unreachable/i);
  });

  it("refuses a URL that is not a Restate deployment, naming the URL and the cause", async () => {
    const url = `http://127.0.0.1:${(plainHttp.address() as AddressInfo).port}`;
    const res = await registerDeployment(admin, url);
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    const message = await errorBody(res);
    assert.ok(message.includes(url), message);
  });

  it("rejects a registration request without a uri", async () => {
    const res = await fetch(`${admin}/deployments`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(res.status, 400);
    assert.match(await errorBody(res), /'uri'/);
  });
});
