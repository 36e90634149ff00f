import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadConfig } from "../../src/cluster/config.ts";
import type { Node } from "../../src/cluster/node.ts";
import { BadRequestError } from "../../src/types/errors.ts";
import { startFixture, type Fixture } from "../support/fixture.ts";
import { startInProcess } from "../support/reprise.ts";
import { tempDir } from "../support/temp.ts";
import { greeter } from "./services.ts";

const APP = "https://app.example.com";

const preflight = (url: string, origin: string) =>
  fetch(url, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,idempotency-key" },
  });

describe("CORS for browser clients", () => {
  let fixture: Fixture;
  let ingress: string;

  before(async () => {
    fixture = await startFixture({ services: [greeter], config: { ingress: { port: 0, corsAllowedOrigins: [APP, "http://localhost:5173"] } } });
    ({ ingress } = fixture);
  });

  after(() => fixture.stop());

  it("answers a preflight from an allowed origin, mirroring the method and headers asked for", async () => {
    const res = await preflight(`${ingress}/Greeter/greet`, APP);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
    assert.equal(res.headers.get("access-control-allow-origin"), APP);
    assert.equal(res.headers.get("access-control-allow-methods"), "POST");
    assert.equal(res.headers.get("access-control-allow-headers"), "content-type,idempotency-key");
    assert.equal(res.headers.get("access-control-allow-credentials"), "true");
    assert.match(res.headers.get("vary") ?? "", /origin/);
    // Any path: the preflight never reaches routing.
    assert.equal((await preflight(`${ingress}/no/such/route`, "http://localhost:5173")).headers.get("access-control-allow-origin"), "http://localhost:5173");
  });

  it("puts access-control headers on results and errors for allowed origins only", async () => {
    const call = await fetch(`${ingress}/Greeter/greet`, { method: "POST", headers: { origin: APP, "content-type": "application/json" }, body: '"Ada"' });
    assert.equal(await call.json(), "Hello, Ada!");
    assert.equal(call.headers.get("access-control-allow-origin"), APP);
    assert.equal(call.headers.get("access-control-allow-credentials"), "true");
    const missing = await fetch(`${ingress}/Nope/x`, { method: "POST", headers: { origin: APP } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("access-control-allow-origin"), APP);

    const elsewhere = await preflight(`${ingress}/Greeter/greet`, "https://evil.example");
    assert.equal(elsewhere.headers.get("access-control-allow-origin"), null);
    const call2 = await fetch(`${ingress}/Greeter/greet`, { method: "POST", headers: { origin: "https://evil.example", "content-type": "application/json" }, body: '"Bo"' });
    assert.equal(call2.headers.get("access-control-allow-origin"), null);
  });

  it("allows every origin by default, as Restate does", async () => {
    const dir = tempDir();
    let node: Node | undefined;
    try {
      node = await startInProcess(dir.path);
      const url = `http://127.0.0.1:${node.ingressPort}`;
      assert.equal((await preflight(`${url}/Greeter/greet`, "https://anything.example")).headers.get("access-control-allow-origin"), "https://anything.example");
      const health = await fetch(`${url}/restate/health`, { headers: { origin: "http://10.0.0.7:3000" } });
      assert.equal(health.headers.get("access-control-allow-origin"), "http://10.0.0.7:3000");
    } finally {
      await node?.stop();
      dir.remove();
    }
  });

  it("reads ingress.cors_allowed_origins from the config file and environment, and refuses what is no origin", () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, "reprise.toml");
      writeFileSync(file, `[ingress]\ncors_allowed_origins = ["${APP}"]\n`);
      assert.deepEqual(loadConfig({ file }).ingress.corsAllowedOrigins, [APP]);
      const env = { REPRISE_INGRESS__CORS_ALLOWED_ORIGINS: "https://a.example, http://localhost:3000" };
      assert.deepEqual(loadConfig({ env }).ingress.corsAllowedOrigins, ["https://a.example", "http://localhost:3000"]);
      assert.deepEqual(loadConfig().ingress.corsAllowedOrigins, ["*"]);
      for (const bad of ["app.example.com", "https://app.example.com/path", "https://app.example.com/"]) {
        assert.throws(
          () => loadConfig({ overrides: { ingress: { corsAllowedOrigins: [bad] } } }),
          (e: unknown) => e instanceof BadRequestError && e.message.startsWith("ingress.cors_allowed_origins:") && e.message.includes(bad),
          bad,
        );
      }
    } finally {
      dir.remove();
    }
  });
});
