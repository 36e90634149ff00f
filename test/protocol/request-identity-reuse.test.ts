import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { describe, it } from "node:test";
import { JWT_HEADER, RequestIdentity } from "../../src/protocol/request-identity.ts";

const PRIVATE_KEY = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;

describe("request identity tokens", () => {
  it("hands out a token again for less than half its leeway, per audience and subject, then signs a new one", () => {
    const identity = RequestIdentity.fromPem(PRIVATE_KEY, "test");
    const now = 1_700_000_000_000;
    const jwt = (path: string, subject: string | undefined, at: number) => identity.headers(path, subject, at)[JWT_HEADER];
    const first = jwt("/invoke/Counter/add", "a", now);
    assert.equal(jwt("/invoke/Counter/add", "a", now + 29_999), first);
    assert.notEqual(jwt("/invoke/Counter/add", "b", now), first);
    assert.notEqual(jwt("/invoke/Counter/get", "a", now), first);
    assert.notEqual(jwt("/invoke/Counter/add", undefined, now), first);
    const renewed = jwt("/invoke/Counter/add", "a", now + 30_000);
    assert.notEqual(renewed, first);
    assert.equal(decode(renewed.split(".")[1]).iat, 1_700_000_030);
    // Never one made later than the time asked for.
    assert.notEqual(jwt("/invoke/Counter/add", "a", now + 10_000), renewed);
  });
});
