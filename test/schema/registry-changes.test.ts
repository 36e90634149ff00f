import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EndpointManifest, ServiceManifest } from "../../src/protocol/manifest.ts";
import { addDeployment, BreakingChangeError, removeDeployment, updateDeployment, type DiscoveredDeployment } from "../../src/schema/registry-changes.ts";
import { EMPTY_SCHEMA, SchemaView, type SchemaRegistry } from "../../src/schema/schema.ts";
import { ConflictError, NotFoundError } from "../../src/types/errors.ts";

const svc = (name: string, ty: ServiceManifest["ty"] = "SERVICE", handlers = ["run"]): ServiceManifest => ({ name, ty, handlers: handlers.map((h) => ({ name: h })) });
const discovered = (uri: string, services: ServiceManifest[], m: Partial<EndpointManifest> = {}): DiscoveredDeployment => ({
  uri,
  additionalHeaders: {},
  httpVersion: "HTTP/2.0",
  manifest: { protocolMode: "BIDI_STREAM", minProtocolVersion: 5, maxProtocolVersion: 7, services, ...m },
  protocolVersion: 7,
});
const opts = (newId: string, o: { overwrite?: boolean; allowBreaking?: boolean } = {}) => ({ overwrite: false, allowBreaking: false, newId, now: 1000, ...o });
const revisions = (r: SchemaRegistry, id: string) => new SchemaView(r).servicesOf(id).map((s) => [s.name, s.revision]);

describe("schema registry changes (Restate's registration rules)", () => {
  it("a new address is created with revision 1; a newer deployment of a service holds its active revision, the older keeps its own", () => {
    const a = addDeployment(EMPTY_SCHEMA, discovered("http://a", [svc("Greeter"), svc("Counter", "VIRTUAL_OBJECT")]), opts("dp_a"));
    assert.equal(a.result, "created");
    assert.deepEqual(revisions(a.registry, "dp_a"), [["Counter", 1], ["Greeter", 1]]);
    const b = addDeployment(a.registry, discovered("http://b", [svc("Greeter")]), opts("dp_b"));
    assert.deepEqual(revisions(b.registry, "dp_b"), [["Greeter", 2]]);
    const view = new SchemaView(b.registry);
    assert.equal(view.deploymentForService("Greeter")?.id, "dp_b");
    assert.equal(view.deploymentForService("Counter")?.id, "dp_a");
    assert.equal(view.serviceOf("dp_a", "Greeter")?.revision, 1, "invocations pinned to A still find A's revision");
    assert.deepEqual(view.listServices().map((s) => [s.name, s.revision]), [["Counter", 1], ["Greeter", 2]]);
  });

  it("a known address without overwrite is unchanged, whatever it serves now; with overwrite it keeps its id and takes new revisions", () => {
    const a = addDeployment(EMPTY_SCHEMA, discovered("http://a", [svc("Greeter"), svc("Old")]), opts("dp_a"));
    const same = addDeployment(a.registry, discovered("http://a", [svc("Greeter", "SERVICE", ["run", "more"])]), opts("dp_new"));
    assert.equal(same.result, "unchanged");
    assert.equal(same.registry, a.registry);
    assert.equal(same.deployment.id, "dp_a");
    const forced = addDeployment(a.registry, discovered("http://a", [svc("Greeter", "SERVICE", ["run", "more"])]), opts("dp_new", { overwrite: true }));
    assert.equal(forced.result, "overwritten");
    assert.equal(forced.deployment.id, "dp_a");
    assert.deepEqual(revisions(forced.registry, "dp_a"), [["Greeter", 2]], "a service the endpoint no longer serves is gone");
    assert.deepEqual(new SchemaView(forced.registry).service("Greeter")?.handlers.map((h) => h.name), ["run", "more"]);
  });

  it("a service type change is refused unless breaking changes are allowed", () => {
    const a = addDeployment(EMPTY_SCHEMA, discovered("http://a", [svc("Shape", "VIRTUAL_OBJECT")]), opts("dp_a"));
    assert.throws(
      () => addDeployment(a.registry, discovered("http://b", [svc("Shape", "WORKFLOW")]), opts("dp_b")),
      (e: unknown) => e instanceof BreakingChangeError && e.httpStatus === 409 && /'Shape'.*virtual object in deployment dp_a → workflow/.test(e.message),
    );
    const allowed = addDeployment(a.registry, discovered("http://b", [svc("Shape", "WORKFLOW")]), opts("dp_b", { allowBreaking: true }));
    assert.equal(new SchemaView(allowed.registry).service("Shape")?.ty, "WORKFLOW");
  });

  it("removing the deployment of an active revision makes the older one active again", () => {
    const a = addDeployment(EMPTY_SCHEMA, discovered("http://a", [svc("Greeter")]), opts("dp_a"));
    const b = addDeployment(a.registry, discovered("http://b", [svc("Greeter")]), opts("dp_b"));
    const view = new SchemaView(removeDeployment(b.registry, "dp_b"));
    assert.equal(view.deploymentForService("Greeter")?.id, "dp_a");
    assert.equal(view.deployment("dp_b"), undefined);
  });

  it("an update moves the address and headers and keeps the services unless overwritten; the protocol versions must stay", () => {
    const a = addDeployment(EMPTY_SCHEMA, discovered("http://a", [svc("Greeter")]), opts("dp_a"));
    const moved = updateDeployment(a.registry, "dp_a", { ...discovered("http://a2", [svc("Other")]), additionalHeaders: { x: "1" }, httpVersion: "HTTP/1.1" }, { overwrite: false });
    assert.equal(moved.deployment.uri, "http://a2");
    assert.equal(moved.deployment.httpVersion, "HTTP/1.1");
    assert.deepEqual(moved.deployment.additionalHeaders, { x: "1" });
    assert.deepEqual(revisions(moved.registry, "dp_a"), [["Greeter", 1]]);
    const overwritten = updateDeployment(a.registry, "dp_a", discovered("http://a", [svc("Greeter"), svc("Other")]), { overwrite: true });
    assert.deepEqual(revisions(overwritten.registry, "dp_a"), [["Greeter", 1], ["Other", 1]]);
    assert.throws(() => updateDeployment(a.registry, "dp_a", discovered("http://a", [], { maxProtocolVersion: 6 }), { overwrite: false }), (e: unknown) => e instanceof ConflictError && /\[5, 6\].*\[5, 7\]/.test(e.message));
    assert.throws(() => updateDeployment(a.registry, "dp_gone", discovered("http://a", []), { overwrite: false }), (e: unknown) => e instanceof NotFoundError && /dp_gone/.test(e.message));
  });
});
