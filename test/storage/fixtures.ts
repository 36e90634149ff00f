import type { TestContext } from "node:test";
import { join } from "node:path";
import { PartitionStore } from "../../src/storage/partition-store.ts";
import { newInvocationId, PartitionKey, type InvocationId } from "../../src/types/ids.ts";
import type { InvocationStatus, InvocationStatusKind } from "../../src/types/invocation.ts";
import { tempDir } from "../support/temp.ts";

/** A store on a real SQLite file in a fresh temp dir, closed and removed when the test ends. */
export function fileStore(t: TestContext): PartitionStore {
  const dir = tempDir("reprise-store-");
  const store = new PartitionStore(join(dir.path, "p0.sqlite"));
  t.after(() => {
    store.close();
    dir.remove();
  });
  return store;
}

export const invocationId = (): InvocationId => newInvocationId(PartitionKey(7n));

export function invocation(id: InvocationId, status: InvocationStatusKind, key = "k1"): InvocationStatus {
  return {
    id,
    status,
    target: { service: "Counter", handler: "add", key, serviceType: "VIRTUAL_OBJECT", handlerType: "EXCLUSIVE" },
    headers: [{ key: "x-test", value: "1" }],
    responseSinks: [{ kind: "ingress", nodeId: 1 }],
    randomSeed: "seed",
    journalLength: 0,
    commandCount: 0,
    deliveredCompletions: [],
    createdAt: 1_000,
    modifiedAt: 1_000,
    completionRetentionMs: 0,
  };
}
