import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { stateVersion } from "../../src/partition/state-version.ts";
import { callJson, eventually } from "../support/reprise.ts";
import { counter, greeter, heldAwakeables } from "../support/example-services.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";

// POST /services/{name}/state (Restate's state edit, `restate kv edit`) and GET /cluster/status.

const bytes = (text: string) => [...Buffer.from(text)];

describe("state edit and cluster status on the admin API", () => {
  let f: Fixture;

  before(async () => {
    f = await startFixture({ services: [greeter, counter] });
  });

  after(async () => {
    await f?.stop();
  });

  const editState = (service: string, body: unknown) =>
    fetch(`${f.admin}/services/${service}/state`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

  /** Adds 0 through the handler: its answer is the value the state holds once every earlier record of the key is applied. */
  const valueOf = async (key: string) => (await (await callJson(f.ingress, `/Counter/${key}/add`, 0)).json()) as number;

  it("replaces a key's state, and the handler reads the new value", async () => {
    assert.equal(await (await callJson(f.ingress, "/Counter/edited/add", 5)).json(), 5);
    const res = await editState("Counter", { object_key: "edited", new_state: { value: bytes("40"), other: bytes('"x"') } });
    assert.equal(res.status, 202);
    assert.equal(await valueOf("edited"), 40);
    // An empty new_state clears the key.
    assert.equal((await editState("Counter", { object_key: "edited", new_state: {} })).status, 202);
    assert.equal(await valueOf("edited"), 0);
  });

  it("applies an edit made for the current version and drops one made for another", async () => {
    assert.equal(await (await callJson(f.ingress, "/Counter/versioned/add", 2)).json(), 2);
    const current = stateVersion([{ key: "value", value: Buffer.from("2") }]);
    assert.equal((await editState("Counter", { object_key: "versioned", version: "not-the-version", new_state: { value: bytes("99") } })).status, 202);
    assert.equal(await valueOf("versioned"), 2, "a stale version is dropped");
    assert.equal((await editState("Counter", { object_key: "versioned", version: current, new_state: { value: bytes("7") } })).status, 202);
    assert.equal(await valueOf("versioned"), 7);
  });

  it("refuses while an invocation holds the key", async () => {
    assert.equal((await callJson(f.ingress, "/Counter/locked/hold/send")).status, 202);
    await eventually(() => heldAwakeables.has("locked"), 5_000, "hold to publish its awakeable");
    const res = await editState("Counter", { object_key: "locked", new_state: { value: bytes("1") } });
    assert.equal(res.status, 409);
    const body = (await res.json()) as { error_code: string; message: string };
    assert.equal(body.error_code, "key_locked");
    assert.match(body.message, /holds Counter\/locked/);
  });

  it("answers bad requests with 4xx JSON errors", async () => {
    const cases: [string, unknown, number, string][] = [
      ["Greeter", { object_key: "k", new_state: {} }, 400, "service_has_no_state"],
      ["Nope", { object_key: "k", new_state: {} }, 404, "service_not_found"],
      ["Counter", { new_state: {} }, 400, "invalid_object_key"],
      ["Counter", { object_key: "k", new_state: { value: "not bytes" } }, 400, "invalid_new_state"],
      ["Counter", { object_key: "k", new_state: { value: [256] } }, 400, "invalid_new_state"],
      ["Counter", { object_key: "k", new_state: [] }, 400, "invalid_new_state"],
      ["Counter", { object_key: "k", version: 3, new_state: {} }, 400, "invalid_version"],
    ];
    for (const [service, body, status, code] of cases) {
      const res = await editState(service, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(((await res.json()) as { error_code: string }).error_code, code);
    }
  });

  it("reports nodes, partitions with their leader, epoch and applied LSN, and logs with segments", async () => {
    const res = await fetch(`${f.admin}/cluster/status`);
    assert.equal(res.status, 200);
    const s = (await res.json()) as {
      node_id: number;
      nodes: { id: number; state: string; roles: string[] }[];
      partitions: { id: number; log_id: number; planned_leader: number; replicas: { node_id: number; mode: string; leader_epoch: number; applied_lsn: number }[] }[];
      logs: { id: number; segments: { index: number; provider: string }[]; tail?: { lsn: number } }[];
    };
    assert.equal(s.node_id, 1);
    assert.deepEqual(
      s.nodes.map((n) => [n.id, n.state]),
      [[1, "alive"]],
    );
    assert.equal(s.partitions.length, 2);
    for (const p of s.partitions) {
      assert.equal(p.planned_leader, 1);
      assert.equal(p.replicas.length, 1);
      const [r] = p.replicas;
      assert.equal(r!.mode, "leader");
      assert.ok(r!.leader_epoch >= 1);
      assert.ok(r!.applied_lsn >= 1, "the leader announcement at least is applied");
    }
    assert.deepEqual(
      s.logs.map((l) => l.id).sort(),
      s.partitions.map((p) => p.log_id).sort(),
    );
    for (const l of s.logs) {
      assert.equal(l.segments[0]!.provider, "local");
      assert.ok(l.tail !== undefined && l.tail.lsn >= 1);
    }
  });
});
