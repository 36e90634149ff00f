import assert from "node:assert/strict";
import { generateKeyPairSync, verify } from "node:crypto";
import { describe, it } from "node:test";
import { base58Encode } from "../../src/common/base58.ts";
import { JWT_HEADER, RequestIdentity, RequestIdentityKeyError, SIGNATURE_SCHEME_HEADER } from "../../src/protocol/request-identity.ts";

// The key pair of Restate's own request identity tests (crates/service-client/src/request_identity/v1.rs).
const PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIPe++4ZTPQDF81otpoU/mOGHC2vOAVp9WbiCblvn3nXO
-----END PRIVATE KEY-----`;
const PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAj5BTvH+WJo0QGHm2hdLOuk6P7szKgTQxmpnnmZe/DcU=
-----END PUBLIC KEY-----`;

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

describe("request identity v1", () => {
  it("names the key as Restate does: publickeyv1_ and the base58 raw public key", () => {
    assert.equal(RequestIdentity.fromPem(PRIVATE_KEY, "test").publicKey, "publickeyv1_AfQwmwfgEZhrWpvv8N52SHpRtZqGGaFr4AZN6qtYWSiY");
  });

  it("signs an EdDSA JWT for the path, with the key as subject and a symmetric validity window", () => {
    const now = 1_700_000_000_123;
    const headers = RequestIdentity.fromPem(PRIVATE_KEY, "test").headers("/invoke/Counter/add", "my-key", now);
    assert.equal(headers[SIGNATURE_SCHEME_HEADER], "v1");
    const [header, claims, signature] = headers[JWT_HEADER].split(".");
    assert.deepEqual(decode(header), { typ: "JWT", alg: "EdDSA", kid: "publickeyv1_AfQwmwfgEZhrWpvv8N52SHpRtZqGGaFr4AZN6qtYWSiY" });
    assert.deepEqual(decode(claims), { aud: "/invoke/Counter/add", iat: 1_700_000_000, exp: 1_700_000_060, nbf: 1_699_999_940, sub: "my-key" });
    assert.ok(verify(null, Buffer.from(`${header}.${claims}`), PUBLIC_KEY, Buffer.from(signature, "base64url")), "the signature verifies with the public key");
    const other = generateKeyPairSync("ed25519").publicKey;
    assert.equal(verify(null, Buffer.from(`${header}.${claims}`), other, Buffer.from(signature, "base64url")), false);
    assert.equal("sub" in decode(RequestIdentity.fromPem(PRIVATE_KEY, "test").headers("/discover", undefined, now)[JWT_HEADER].split(".")[1]), false);
  });

  it("refuses a key file that is not exactly one Ed25519 private key, naming the file", () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    const refused = (pem: string, message: RegExp) =>
      assert.throws(() => RequestIdentity.fromPem(pem, "/etc/key.pem"), (e: unknown) => e instanceof RequestIdentityKeyError && message.test(e.message) && e.message.includes("/etc/key.pem"));
    refused(rsa, /must be an Ed25519 key, found rsa/);
    refused(`${PRIVATE_KEY}\n${PRIVATE_KEY}`, /exactly one private key.*found 2/);
    refused("not a key", /exactly one private key.*found 0/);
    refused("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", /not a readable private key/);
  });

  it("base58 keeps leading zero bytes as leading 1s", () => {
    assert.equal(base58Encode(new Uint8Array([0, 0, 1])), "112");
    assert.equal(base58Encode(new Uint8Array([0xff])), "5Q");
    assert.equal(base58Encode(new TextEncoder().encode("hello world")), "StV1DL6CwTryKyV");
    assert.equal(base58Encode(new Uint8Array([])), "");
  });
});
