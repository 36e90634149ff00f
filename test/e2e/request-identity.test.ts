import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Node } from "../../src/cluster/node.ts";
import { RequestIdentity } from "../../src/protocol/request-identity.ts";
import { callJson, registerDeployment, startInProcess, tempDir } from "../support/reprise.ts";
import { startSdkEndpoint, type SdkEndpoint } from "../support/sdk-endpoint.ts";
import { counter, greeter } from "../support/example-services.ts";

/** GET `path` on an h2c endpoint with `headers`; the status it answers. */
function h2Status(url: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on("error", reject);
    const req = session.request({ ":method": "GET", ":path": path, accept: "application/vnd.restate.endpointmanifest.v4+json", ...headers });
    req.on("response", (h) => {
      resolve(Number(h[":status"]));
      session.destroy();
    });
    req.on("error", reject);
    req.end();
  });
}

describe("request identity: Reprise signs every request to a deployment", () => {
  const dir = tempDir();
  let node: Node;
  let sdk: SdkEndpoint;
  let admin: string;
  let publicKey: string;

  before(async () => {
    node = await startInProcess(join(dir.path, "signed"));
    admin = `http://127.0.0.1:${node.adminPort}`;
    publicKey = ((await (await fetch(`${admin}/request-identity`)).json()) as { scheme: string; public_key: string }).public_key;
    sdk = await startSdkEndpoint([greeter, counter], { identityKeys: [publicKey] });
  });

  after(async () => {
    await node?.stop();
    await sdk?.close();
    dir.remove();
  });

  it("shows its public key on the admin API in the form SDKs are configured with", async () => {
    assert.match(publicKey, /^publickeyv1_[1-9A-HJ-NP-Za-km-z]{40,50}$/);
    assert.equal(publicKey, node.identity.publicKey);
  });

  it("an SDK endpoint with identityKeys accepts Reprise's discovery and invocations", async () => {
    const registered = await registerDeployment(admin, sdk.url);
    assert.equal(registered.status, 201, await registered.clone().text());
    const ingress = `http://127.0.0.1:${node.ingressPort}`;
    const greet = await callJson(ingress, "/Greeter/greet", "Ada");
    assert.equal(greet.status, 200);
    assert.equal(await greet.json(), "Hello, Ada!");
    // A keyed call is signed with the key as subject.
    assert.equal(await (await callJson(ingress, "/Counter/signed/add", 2)).json(), 2);
  });

  it("the same endpoint rejects unsigned and forged requests", async () => {
    assert.equal(await h2Status(sdk.url, "/discover", {}), 401, "unsigned");
    const forger = RequestIdentity.fromPem(generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString(), "forger");
    assert.equal(await h2Status(sdk.url, "/discover", forger.headers("/discover")), 401, "signed with another key");
    // Another Reprise (its own generated key) is refused at discovery, naming the endpoint's answer.
    const other = await startInProcess(join(dir.path, "other"));
    try {
      const res = await registerDeployment(`http://127.0.0.1:${other.adminPort}`, sdk.url);
      assert.equal(res.status, 400);
      const body = (await res.json()) as { message: string };
      assert.match(body.message, /HTTP 401/);
      assert.ok(body.message.includes(sdk.url), body.message);
    } finally {
      await other.stop();
    }
  });

  it("keeps its generated key across restarts, or uses the configured one", async () => {
    const restarted = await startInProcess(join(dir.path, "restarted"));
    const first = restarted.identity.publicKey;
    await restarted.stop();
    const again = await startInProcess(join(dir.path, "restarted"));
    assert.equal(again.identity.publicKey, first);
    await again.stop();

    const pemFile = join(dir.path, "configured.pem");
    writeFileSync(pemFile, generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString());
    const configured = await startInProcess(join(dir.path, "configured"), { invoker: { requestIdentityPrivateKeyPemFile: pemFile } });
    try {
      assert.equal(configured.identity.publicKey, RequestIdentity.fromPem(readFileSync(pemFile, "utf8"), pemFile).publicKey);
    } finally {
      await configured.stop();
    }
    await assert.rejects(
      startInProcess(join(dir.path, "missing"), { invoker: { requestIdentityPrivateKeyPemFile: join(dir.path, "nope.pem") } }),
      /invoker\.request_identity_private_key_pem_file: cannot read the request identity key file .*nope\.pem/,
    );
  });
});
