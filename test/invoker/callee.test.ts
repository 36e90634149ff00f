import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { assignCallee } from "../../src/invoker/callee.ts";
import { idempotentInvocationId, partitionKeyForKey, workflowRunInvocationId } from "../../src/partition/routing.ts";
import { SchemaView, type HandlerSchema, type ServiceSchema } from "../../src/schema/schema.ts";
import { partitionKeyOf } from "../../src/types/ids.ts";

const handler = (name: string, ty: HandlerSchema["ty"], extra: Partial<HandlerSchema> = {}): HandlerSchema => ({ name, ty, inputRequired: false, ...extra });
const svc = (name: string, ty: ServiceSchema["ty"], handlers: HandlerSchema[]): ServiceSchema => ({ name, ty, handlers, deploymentId: "dp_1", revision: 1, public: true });

const schema = new SchemaView({
  deployments: [],
  services: [
    svc("Payments", "SERVICE", [handler("charge", "SHARED", { idempotencyRetentionMs: 60_000, journalRetentionMs: 5_000 })]),
    svc("Cart", "VIRTUAL_OBJECT", [handler("add", "EXCLUSIVE")]),
    svc("Signup", "WORKFLOW", [handler("run", "WORKFLOW", { workflowCompletionRetentionMs: 120_000 }), handler("click", "SHARED")]),
  ],
});

const assigned = (call: Parameters<typeof assignCallee>[1]) => {
  const a = assignCallee(schema, call);
  if ("error" in a) throw new Error(`unexpected error: ${a.error.message}`);
  return a;
};

describe("invoker: the callee of a call from a handler", () => {
  it("an idempotent call gets the id the ingress derives for the same key, and the idempotency retention", () => {
    const call = { serviceName: "Payments", handlerName: "charge", key: "", idempotencyKey: "order-7" };
    const a = assigned(call);
    assert.equal(a.invocationId, idempotentInvocationId("Payments", "", "charge", "order-7"));
    assert.equal(assigned(call).invocationId, a.invocationId, "the same call names the same invocation");
    assert.equal(a.completionRetentionMs, 60_000);
    assert.deepEqual(a.target, { service: "Payments", handler: "charge", serviceType: "SERVICE", handlerType: "SHARED" });
  });

  it("a workflow run gets the id of its workflow key, and the workflow's completion retention", () => {
    const a = assigned({ serviceName: "Signup", handlerName: "run", key: "alice" });
    assert.equal(a.invocationId, workflowRunInvocationId("Signup", "alice"));
    assert.equal(a.completionRetentionMs, 120_000);
    const shared = assigned({ serviceName: "Signup", handlerName: "click", key: "alice" });
    assert.notEqual(shared.invocationId, a.invocationId, "a workflow's shared handler is a call like any other");
    assert.equal(partitionKeyOf(shared.invocationId), partitionKeyForKey("Signup", "alice"));
  });

  it("a plain call gets a fresh id (on the object key's partition for objects) and the journal retention", () => {
    const call = { serviceName: "Payments", handlerName: "charge", key: "" };
    assert.notEqual(assigned(call).invocationId, assigned(call).invocationId);
    assert.equal(assigned(call).completionRetentionMs, 5_000);
    const add = assigned({ serviceName: "Cart", handlerName: "add", key: "c1" });
    assert.equal(partitionKeyOf(add.invocationId), partitionKeyForKey("Cart", "c1"));
    assert.equal(add.completionRetentionMs, undefined, "the partition's default applies");
  });

  it("an unknown target or an empty idempotency key becomes the call's failure", () => {
    assert.deepEqual(assignCallee(schema, { serviceName: "Payments", handlerName: "charge", key: "", idempotencyKey: "" }), {
      error: { code: 400, message: "the idempotency key provided in the request is empty" },
    });
    const unknown = assignCallee(schema, { serviceName: "Nope", handlerName: "x", key: "" });
    assert.ok("error" in unknown && unknown.error.code === 404 && /service 'Nope' not found/.test(unknown.error.message));
  });
});
