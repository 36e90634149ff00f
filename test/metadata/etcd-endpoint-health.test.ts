import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { isBrokenCircuitError } from "cockatiel";
import { GRPCUnavailableError } from "etcd3";
import { EtcdEndpointHealth } from "../../src/metadata/etcd-endpoint-health.ts";
import { eventually } from "../support/eventually.ts";

/** A member's `/health` on loopback that answers what `health` says (null: no answer at all). */
async function fakeMember(t: { after: (fn: () => void) => void }): Promise<{ url: string; set: (h: "true" | "false" | null) => void; asked: () => number }> {
  let health: "true" | "false" | null = "false";
  let asked = 0;
  const server = createServer((req, res) => {
    asked++;
    if (health === null) return; // Left hanging, as a member cut off by a silent drop.
    res.writeHead(health === "true" ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ health }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  server.unref();
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`, set: (h) => (health = h), asked: () => asked };
}

describe("etcd endpoint health", () => {
  it("holds an endpoint off after a failure any member could not share, without calling it, until its /health says it is back", async (t) => {
    const member = await fakeMember(t);
    member.set(null);
    const health = new EtcdEndpointHealth(member.url);
    t.after(() => health.close());
    assert.equal(await health.execute(() => "answered"), "answered");

    await assert.rejects(health.execute(() => Promise.reject(new GRPCUnavailableError("connection dropped"))), GRPCUnavailableError);
    let calls = 0;
    await assert.rejects(
      health.execute(() => ++calls),
      (e) => isBrokenCircuitError(e),
      "a held-off endpoint refuses without calling through, so the client turns to another member",
    );
    assert.equal(calls, 0);

    // No answer, then a member without a leader: still held off, and asked again and again.
    await eventually(() => member.asked() >= 1, 3_000, "the endpoint's /health is asked");
    member.set("false");
    await eventually(() => member.asked() >= 3, 3_000, "asked again while unhealthy");
    assert.ok(health.isHeldOff);
    member.set("true");
    await eventually(() => !health.isHeldOff, 3_000, "back once /health says healthy");
    assert.equal(await health.execute(() => "answered again"), "answered again");
    const askedWhenBack = member.asked();
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(member.asked(), askedWhenBack, "a healthy endpoint is not probed");
  });

  it("passes a failure that is the request's own (not the member's) through without holding the endpoint off", async (t) => {
    const member = await fakeMember(t);
    const health = new EtcdEndpointHealth(member.url);
    t.after(() => health.close());
    await assert.rejects(health.execute(() => Promise.reject(new Error("invalid argument"))), /invalid argument/);
    assert.equal(health.isHeldOff, false);
    assert.equal(await health.execute(() => 7), 7);
  });
});
