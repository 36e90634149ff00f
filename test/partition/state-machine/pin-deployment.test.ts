import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { InvocationId } from "../../../src/types/ids.ts";
import { T0, TestPartition, request, service } from "./harness.ts";

describe("state machine: deployment pinning", () => {
  let p: TestPartition;
  let id: InvocationId;
  beforeEach(() => {
    p = new TestPartition();
    id = request(service()).id;
    p.invoke({ ...request(service()), id });
  });
  afterEach(() => p.close());

  it("the first pin of a running invocation is kept through suspension and resumption; later pins change nothing", () => {
    p.ts = T0 + 10;
    assert.deepEqual(p.apply({ t: "pin-deployment", id, deploymentId: "dp_a", protocolVersion: 6 }), []);
    assert.deepEqual(p.status(id).pinnedDeployment, { deploymentId: "dp_a", protocolVersion: 6 });
    assert.equal(p.status(id).modifiedAt, T0 + 10);

    p.apply({ t: "pin-deployment", id, deploymentId: "dp_b", protocolVersion: 7 });
    assert.deepEqual(p.status(id).pinnedDeployment, { deploymentId: "dp_a", protocolVersion: 6 });

    p.apply({ t: "suspend", id, commandCount: p.status(id).commandCount, awaiting: { completions: [9], signals: [], namedSignals: [] } });
    assert.equal(p.status(id).status, "suspended");
    p.apply({ t: "pin-deployment", id, deploymentId: "dp_b", protocolVersion: 7 });
    assert.deepEqual(p.status(id).pinnedDeployment, { deploymentId: "dp_a", protocolVersion: 6 }, "a suspended invocation keeps its pin");
  });

  it("a pin for an invocation that is not running, or unknown, is dropped", () => {
    p.apply({ t: "end", id, commandCount: p.status(id).commandCount });
    p.apply({ t: "pin-deployment", id, deploymentId: "dp_a", protocolVersion: 6 });
    assert.equal(p.status(id).pinnedDeployment, undefined);
    const unknown = request(service()).id;
    assert.deepEqual(p.apply({ t: "pin-deployment", id: unknown, deploymentId: "dp_a", protocolVersion: 6 }), []);
  });

  it("a pin riding on the first journal-command pins with it; one on a stale command, or on a pinned invocation, changes nothing", () => {
    const run = { t: "journal-command" as const, id, msgType: 0xfc01, payload: new Uint8Array() };
    p.apply({ ...run, commandIndex: 5, pin: { deploymentId: "dp_stale", protocolVersion: 5 } });
    assert.equal(p.status(id).pinnedDeployment, undefined, "a command the partition drops pins nothing");

    p.ts = T0 + 20;
    p.apply({ ...run, commandIndex: p.status(id).commandCount, pin: { deploymentId: "dp_a", protocolVersion: 6 } });
    assert.deepEqual(p.status(id).pinnedDeployment, { deploymentId: "dp_a", protocolVersion: 6 });
    assert.equal(p.journal(id).length, 2, "the command was journaled with its pin");

    p.apply({ ...run, commandIndex: p.status(id).commandCount, pin: { deploymentId: "dp_b", protocolVersion: 7 } });
    assert.deepEqual(p.status(id).pinnedDeployment, { deploymentId: "dp_a", protocolVersion: 6 }, "the first pin wins");
    assert.equal(p.journal(id).length, 3);
  });
});
