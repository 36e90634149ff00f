import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it, type TestContext } from "node:test";
import { isBrokenCircuitError } from "cockatiel";
import { GRPCUnavailableError } from "etcd3";
import { EtcdEndpointHealth, EtcdEndpoints } from "../../src/metadata/etcd-endpoint-health.ts";
import { eventually } from "../support/eventually.ts";

type Health = "true" | "false" | null;

/** A member's `/health` on loopback that answers what `set` said last (null: no answer at all, as a member cut off by a silent drop). */
async function fakeMember(t: TestContext, initial: Health): Promise<{ endpoint: EtcdEndpointHealth; set: (h: Health) => void; asked: () => number }> {
  let health = initial;
  let asked = 0;
  const server = createServer((_req, res) => {
    asked++;
    if (health === null) return;
    res.writeHead(health === "true" ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ health }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const endpoint = new EtcdEndpointHealth(`http://127.0.0.1:${(server.address() as AddressInfo).port}/health`);
  return { endpoint, set: (h) => (health = h), asked: () => asked };
}

describe("etcd endpoint health", () => {
  it("a failure another member may not share holds the endpoint off: calls skip it without calling through; the request's own failures do not", async (t) => {
    const { endpoint } = await fakeMember(t, "true");
    assert.equal(await endpoint.execute(() => "answered"), "answered");
    await assert.rejects(endpoint.execute(() => Promise.reject(new Error("invalid argument"))), /invalid argument/);
    assert.equal(endpoint.isHeldOff, false);

    await assert.rejects(endpoint.execute(() => Promise.reject(new GRPCUnavailableError("connection dropped"))), GRPCUnavailableError);
    let calls = 0;
    await assert.rejects(
      endpoint.execute(() => ++calls),
      (e) => isBrokenCircuitError(e),
      "a held-off endpoint refuses without calling through, so the client turns to another member",
    );
    assert.equal(calls, 0);
    endpoint.release();
    assert.equal(await endpoint.execute(() => ++calls), 1);
  });

  it("rounds of /health hold off a member that stops answering while another answers, bring it back once healthy, and hold off nothing when none answers", async (t) => {
    const a = await fakeMember(t, "true");
    const b = await fakeMember(t, "true");
    const endpoints = new EtcdEndpoints([a.endpoint, b.endpoint]);
    t.after(() => endpoints.close());
    await eventually(() => a.asked() >= 2 && b.asked() >= 2, 5_000, "both members are asked, round after round");
    assert.ok(!a.endpoint.isHeldOff && !b.endpoint.isHeldOff);

    // A call on its way through b when it stops answering, as on a member cut off by silent drops.
    const stuck = b.endpoint.execute(() => new Promise<never>(() => undefined));
    const stuckSettled = stuck.then(
      () => "answered",
      (e: unknown) => e,
    );
    b.set(null);
    await eventually(() => b.endpoint.isHeldOff, 5_000, "the member that stopped answering is held off before any call fails on it");
    const given = await Promise.race([stuckSettled, new Promise((r) => setTimeout(() => r("still waiting"), 100))]);
    assert.ok(given instanceof GRPCUnavailableError, `the call waiting on it fails as unavailable once it is held off, not at its deadline (${String(given)})`);
    assert.equal(a.endpoint.isHeldOff, false);
    b.set("false");
    const askedUnhealthy = b.asked();
    await eventually(() => b.asked() >= askedUnhealthy + 2, 5_000, "asked again while unhealthy");
    assert.ok(b.endpoint.isHeldOff, "a member without a leader stays held off");
    b.set("true");
    await eventually(() => !b.endpoint.isHeldOff, 5_000, "back once it answers healthy");

    // This node cut off from every member, or etcd slow everywhere: the probes hold nothing off.
    a.set(null);
    b.set(null);
    const askedNone = a.asked();
    await eventually(() => a.asked() >= askedNone + 1, 5_000, "asked while nothing answers");
    await new Promise((r) => setTimeout(r, 2_500));
    assert.ok(!a.endpoint.isHeldOff && !b.endpoint.isHeldOff, "with no member answering, calls still go to etcd");
    // An endpoint a call held off stays so until it answers healthy.
    await assert.rejects(a.endpoint.execute(() => Promise.reject(new GRPCUnavailableError("deadline"))), GRPCUnavailableError);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.ok(a.endpoint.isHeldOff);
    a.set("true");
    await eventually(() => !a.endpoint.isHeldOff, 5_000, "released when healthy again");
  });
});
