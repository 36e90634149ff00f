import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PartitionDispatcher, type RemoteLeaders, type ResultAnswer } from "../../src/partition/dispatcher.ts";
import type { PartitionProcessor } from "../../src/partition/processor.ts";
import { PartitionRouter } from "../../src/partition/routing.ts";
import type { InvocationStatus } from "../../src/types/invocation.ts";
import { newInvocationId, PartitionKey, type InvocationId, type PartitionId } from "../../src/types/ids.ts";

const NODE = 3;
const LEADER = 1;

/**
 * The cluster as a node without a replica of the partition sees it: a leader elsewhere that never
 * relays results (it died after applying one), and a replica that answers reads with `stored`.
 */
function remoteWithout(stored: (id: InvocationId) => InvocationStatus | null): RemoteLeaders {
  return {
    leaderOf: () => LEADER,
    replicasOf: () => [LEADER, 2],
    propose: async () => undefined,
    read: async (_node, id) => {
      const status = stored(id);
      return status && { status, journal: [] };
    },
    relayResult: () => undefined,
  };
}

function completed(id: InvocationId, serviceType: "SERVICE" | "WORKFLOW", runBy = "the-run"): InvocationStatus {
  return {
    id,
    status: "completed",
    responseSinks: [{ kind: "ingress", nodeId: NODE, requestId: runBy }],
    target: { service: "S", handler: "run", serviceType, handlerType: serviceType === "WORKFLOW" ? "WORKFLOW" : undefined, key: "k" },
    result: { kind: "success", value: new Uint8Array([1, 2, 3]) },
  } as unknown as InvocationStatus;
}

const timeout = (ms: number): Promise<"timed out"> => new Promise((r) => setTimeout(() => r("timed out"), ms));

describe("dispatcher on a node without a replica of the partition", () => {
  const router = new PartitionRouter(1);
  const noReplicas = new Map<PartitionId, PartitionProcessor>();

  it("learns a result the leader never relayed from the invocation's status", async () => {
    const id = newInvocationId(PartitionKey(7n));
    const dispatcher = new PartitionDispatcher(NODE, router, noReplicas, { remote: remoteWithout(() => completed(id, "SERVICE")) });
    const waiter = dispatcher.awaitResult(id);
    const answer = await Promise.race([waiter.answer, timeout(5_000)]);
    assert.notEqual(answer, "timed out", "the waiter was answered from the status");
    assert.deepEqual(answer, { result: { kind: "success", value: new Uint8Array([1, 2, 3]) }, refused: false });
  });

  it("answers a workflow's run from its status, and another request for it with the refusal it gets", async () => {
    const id = newInvocationId(PartitionKey(7n));
    const dispatcher = new PartitionDispatcher(NODE, router, noReplicas, { remote: remoteWithout(() => completed(id, "WORKFLOW", "the-run")) });
    const run = dispatcher.awaitResult(id, "the-run");
    const second = dispatcher.awaitResult(id, "a-second-run");
    const answers = await Promise.race([Promise.all([run.answer, second.answer]), timeout(5_000)]);
    assert.notEqual(answers, "timed out", "the waiters were answered from the status");
    const [ran, refused] = answers as ResultAnswer[];
    assert.deepEqual(ran, { result: { kind: "success", value: new Uint8Array([1, 2, 3]) }, refused: false });
    assert.deepEqual(refused, { result: { kind: "failure", code: 409, message: "the workflow method was already invoked" }, refused: true });
  });
});
