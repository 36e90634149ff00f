import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import * as restate from "@restatedev/restate-sdk";
import { DiscoveryError, discoverEndpoint, negotiateProtocolVersion } from "../../src/protocol/discovery.ts";
import { ManifestValidationError, parseEndpointManifest } from "../../src/protocol/manifest.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import "../support/promise-with-resolvers.ts";

const greeter = restate.service({
  name: "Greeter",
  handlers: {
    greet: async (_ctx: restate.Context, name: string) => `Hello, ${name}!`,
  },
  options: { inactivityTimeout: 30_000, ingressPrivate: false },
});

const counter = restate.object({
  name: "Counter",
  handlers: {
    add: async (ctx: restate.ObjectContext, n: number) => {
      const v = ((await ctx.get<number>("v")) ?? 0) + n;
      ctx.set("v", v);
      return v;
    },
    get: restate.handlers.object.shared(async (ctx: restate.ObjectSharedContext) => (await ctx.get<number>("v")) ?? 0),
  },
  options: { retryPolicy: { maxAttempts: 3, initialInterval: 250, onMaxAttempts: "pause" } },
});

const signup = restate.workflow({
  name: "Signup",
  handlers: {
    run: async (ctx: restate.WorkflowContext, email: string) => ctx.run("send", () => `sent to ${email}`),
    status: async (_ctx: restate.WorkflowSharedContext) => "pending",
  },
  options: { workflowRetention: 86_400_000 },
});

/** Rejects with a DiscoveryError of `code` whose message names `url`. */
async function rejectsWith(p: Promise<unknown>, code: string, url: string, pattern?: RegExp): Promise<DiscoveryError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DiscoveryError, `expected DiscoveryError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.httpStatus, 400);
    assert.ok(e.message.includes(url), `message names the URL: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return e;
  }
  assert.fail("expected a rejection");
}

async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    (server as http.Server).closeAllConnections?.();
    server.close(() => resolve());
  });
}

describe("discovery against a real SDK endpoint", () => {
  let sdk: SdkEndpoint;
  before(async () => {
    sdk = await startSdkEndpoint([greeter, counter, signup]);
  });
  after(() => sdk.close());

  it("reads and validates the manifest of a service, an object and a workflow", async () => {
    const r = await discoverEndpoint(sdk.url, { timeoutMs: 5000, headers: { "X-Test": "1" } });
    assert.equal(r.httpVersion, "2");
    assert.equal(r.manifestVersion, 4);
    assert.equal(r.protocolVersion, 7);
    assert.match(r.sdkVersion ?? "", /^restate-sdk-typescript\/1\.17\./);
    const m = r.manifest;
    assert.equal(m.protocolMode, "BIDI_STREAM");
    assert.equal(m.minProtocolVersion, 5);
    assert.equal(m.maxProtocolVersion, 7);

    const byName = new Map(m.services.map((s) => [s.name, s]));
    assert.deepEqual([...byName.keys()].sort(), ["Counter", "Greeter", "Signup"]);

    const g = byName.get("Greeter")!;
    assert.equal(g.ty, "SERVICE");
    assert.equal(g.inactivityTimeout, 30_000);
    assert.equal(g.ingressPrivate, false);
    assert.deepEqual(g.handlers.map((h) => h.name), ["greet"]);
    assert.equal(g.handlers[0].input?.contentType, "application/json");
    assert.equal(g.handlers[0].output?.contentType, "application/json");

    const c = byName.get("Counter")!;
    assert.equal(c.ty, "VIRTUAL_OBJECT");
    assert.equal(c.retryPolicyMaxAttempts, 3);
    assert.equal(c.retryPolicyInitialInterval, 250);
    assert.equal(c.retryPolicyOnMaxAttempts, "PAUSE");
    const ty = Object.fromEntries(c.handlers.map((h) => [h.name, h.ty]));
    assert.deepEqual(ty, { add: "EXCLUSIVE", get: "SHARED" });

    const w = byName.get("Signup")!;
    assert.equal(w.ty, "WORKFLOW");
    const run = w.handlers.find((h) => h.name === "run")!;
    assert.equal(run.ty, "WORKFLOW");
    assert.equal(run.workflowCompletionRetention, 86_400_000);
    assert.equal(w.handlers.find((h) => h.name === "status")!.ty, "SHARED");
  });
});

describe("discovery failures", () => {
  it("reports a refused connection as deployment_unreachable", async () => {
    // Grab a free port, then close it so nothing listens there.
    const s = net.createServer();
    const url = await listen(s);
    await close(s);
    const e = await rejectsWith(discoverEndpoint(url, { timeoutMs: 2000 }), "deployment_unreachable", url, /ECONNREFUSED/);
    assert.equal(e.retryable, true);
  });

  it("times out on a peer that accepts but never answers", async () => {
    const sockets = new Set<net.Socket>();
    const s = net.createServer((sock) => sockets.add(sock));
    const url = await listen(s);
    try {
      const t0 = Date.now();
      await rejectsWith(discoverEndpoint(url, { timeoutMs: 200 }), "deployment_unreachable", url, /in time|within/);
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      for (const sock of sockets) sock.destroy();
      await close(s);
    }
  });

  it("explains a plain HTTP/1.1 server (404) after falling back from HTTP/2", async () => {
    const s = http.createServer((_req, res) => {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Cannot GET /discover");
    });
    const url = await listen(s);
    try {
      await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "not_a_restate_endpoint", url, /HTTP 404.*Cannot GET \/discover/);
    } finally {
      await close(s);
    }
  });

  it("classifies non-manifest answers: wrong content type, not JSON, bad status, invalid manifest, protocol versions", async () => {
    let answer: { status: number; type: string; body: string } = { status: 200, type: "text/html", body: "<html>hi</html>" };
    let seen: http2.IncomingHttpHeaders = {};
    const s = http2.createServer((req, res) => {
      seen = req.headers;
      res.writeHead(answer.status, { "content-type": answer.type });
      res.end(answer.body);
    });
    const url = await listen(s);
    const V4 = "application/vnd.restate.endpointmanifest.v4+json";
    const manifest = (o: object) => JSON.stringify({ protocolMode: "BIDI_STREAM", minProtocolVersion: 5, maxProtocolVersion: 7, services: [], ...o });
    try {
      await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "not_a_restate_endpoint", url, /content-type "text\/html".*<html>hi/);
      assert.equal(
        seen.accept,
        "application/vnd.restate.endpointmanifest.v4+json, application/vnd.restate.endpointmanifest.v3+json, application/vnd.restate.endpointmanifest.v2+json",
      );
      assert.equal(seen[":path"], "/discover");

      answer = { status: 200, type: V4, body: "{not json" };
      await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "not_a_restate_endpoint", url, /not JSON/);

      answer = { status: 500, type: "text/plain", body: "boom" };
      const e = await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "discovery_failed", url, /HTTP 500: boom/);
      assert.equal(e.retryable, true);

      answer = { status: 415, type: "text/plain", body: "Unsupported service discovery protocol version" };
      assert.equal((await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "discovery_failed", url, /HTTP 415/)).retryable, false);

      answer = { status: 200, type: V4, body: manifest({ services: [{ name: "S", ty: "ACTOR", handlers: [] }] }) };
      await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "invalid_manifest", url, /services\[0\]\.ty: must be one of SERVICE, VIRTUAL_OBJECT, WORKFLOW \(got "ACTOR"\)/);

      answer = { status: 200, type: V4, body: manifest({ minProtocolVersion: 1, maxProtocolVersion: 4 }) };
      await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "unsupported_protocol", url, /\[1, 4\].*\[5, 7\]/);

      answer = { status: 200, type: V4, body: manifest({ minProtocolVersion: 8, maxProtocolVersion: 9 }) };
      await rejectsWith(discoverEndpoint(url, { timeoutMs: 3000 }), "unsupported_protocol", url);

      answer = { status: 200, type: "application/vnd.restate.endpointmanifest.v2+json", body: manifest({ minProtocolVersion: 2, maxProtocolVersion: 6, protocolMode: "REQUEST_RESPONSE" }) };
      // The endpoint may be mounted under a path; extra headers (e.g. auth) are passed through.
      const ok = await discoverEndpoint(`${url}/base/`, { timeoutMs: 3000, headers: { Authorization: "Bearer t" } });
      assert.equal(seen[":path"], "/base/discover");
      assert.equal(seen.authorization, "Bearer t");
      assert.equal(ok.manifestVersion, 2);
      assert.equal(ok.protocolVersion, 6);
      assert.equal(ok.manifest.protocolMode, "REQUEST_RESPONSE");
      assert.equal(ok.sdkVersion, undefined);
    } finally {
      await close(s);
    }
  });

  it("rejects malformed URLs", async () => {
    await rejectsWith(discoverEndpoint("not a url", { timeoutMs: 100 }), "invalid_deployment_url", "not a url");
    await rejectsWith(discoverEndpoint("ftp://127.0.0.1/x", { timeoutMs: 100 }), "invalid_deployment_url", "ftp://127.0.0.1/x");
  });
});

describe("manifest validation", () => {
  const base = { protocolMode: "BIDI_STREAM", minProtocolVersion: 5, maxProtocolVersion: 7 };
  const invalid = (json: unknown, path: string) =>
    assert.throws(
      () => parseEndpointManifest(json),
      (e: unknown) => e instanceof ManifestValidationError && e.path === path && e.code === "invalid_manifest",
      path,
    );

  it("checks structure, names, combinations and types with a path to the bad field", () => {
    invalid([], "manifest");
    invalid({ ...base, services: [] , minProtocolVersion: "5" }, "minProtocolVersion");
    invalid({ ...base, services: [], minProtocolVersion: 7, maxProtocolVersion: 5 }, "minProtocolVersion");
    invalid({ ...base, services: [], protocolMode: undefined }, "protocolMode");
    invalid({ ...base }, "services");
    invalid({ ...base, services: [{ name: "1abc", ty: "SERVICE", handlers: [] }] }, "services[0].name");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE" }] }, "services[0].handlers");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE", handlers: [{ name: "h-1" }] }] }, "services[0].handlers[0].name");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE", handlers: [{ name: "h", ty: "EXCLUSIVE" }] }] }, "services[0].handlers[0].ty");
    invalid({ ...base, services: [{ name: "A", ty: "VIRTUAL_OBJECT", handlers: [{ name: "h", ty: "WORKFLOW" }] }] }, "services[0].handlers[0].ty");
    invalid({ ...base, services: [{ name: "A", ty: "WORKFLOW", handlers: [{ name: "h", ty: "SHARED", workflowCompletionRetention: 5 }] }] }, "services[0].handlers[0].workflowCompletionRetention");
    invalid({ ...base, services: [{ name: "A", ty: "WORKFLOW", handlers: [{ name: "h", ty: "WORKFLOW", idempotencyRetention: 5 }] }] }, "services[0].handlers[0].idempotencyRetention");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE", handlers: [{ name: "h", inactivityTimeout: -1 }] }] }, "services[0].handlers[0].inactivityTimeout");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE", handlers: [{ name: "h", input: { required: "yes" } }] }] }, "services[0].handlers[0].input.required");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE", handlers: [], metadata: { k: 1 } }] }, "services[0].metadata.k");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE", handlers: [{ name: "h" }, { name: "h" }] }] }, "services[0].handlers");
    invalid({ ...base, services: [{ name: "A", ty: "SERVICE", handlers: [] }, { name: "A", ty: "SERVICE", handlers: [] }] }, "services");
  });

  it("keeps known fields, drops unknown ones and leaves unset options absent", () => {
    const m = parseEndpointManifest({
      ...base,
      futureField: true,
      services: [{ name: "_svc.v1-x", ty: "SERVICE", handlers: [{ name: "h", input: { jsonSchema: { type: "string" } }, whatever: 1 }], documentation: "d" }],
    });
    assert.deepEqual(m, {
      ...base,
      services: [{ name: "_svc.v1-x", ty: "SERVICE", documentation: "d", handlers: [{ name: "h", input: { jsonSchema: { type: "string" } } }] }],
    });
  });

  it("negotiates min(max, 7) within [5, 7]", () => {
    assert.equal(negotiateProtocolVersion("u", { minProtocolVersion: 5, maxProtocolVersion: 5 }), 5);
    assert.equal(negotiateProtocolVersion("u", { minProtocolVersion: 1, maxProtocolVersion: 100 }), 7);
    assert.throws(() => negotiateProtocolVersion("u", { minProtocolVersion: 1, maxProtocolVersion: 4 }), DiscoveryError);
  });
});
