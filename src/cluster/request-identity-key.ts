import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RequestIdentity, RequestIdentityKeyError } from "../protocol/request-identity.ts";

/** Where a node keeps the key it generated when none is configured. */
export const GENERATED_KEY_FILE = "request-identity.pem";

/**
 * The node's request identity: from the configured PEM file, or from `<base-dir>/request-identity.pem`,
 * generated (Ed25519, PKCS#8, readable by the owner only) on first start so the public key an SDK
 * endpoint is configured with stays valid across restarts.
 */
export function loadRequestIdentity(configuredPemFile: string, baseDir: string): RequestIdentity {
  if (configuredPemFile !== "") return RequestIdentity.fromPem(readKeyFile(configuredPemFile), configuredPemFile);
  const path = join(baseDir, GENERATED_KEY_FILE);
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw unreadable(path, e);
    pem = generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }).toString();
    // "wx": two nodes sharing a base dir by mistake never overwrite each other's key.
    writeFileSync(path, pem, { mode: 0o600, flag: "wx" });
  }
  return RequestIdentity.fromPem(pem, path);
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw unreadable(path, e);
  }
}

function unreadable(path: string, e: unknown): RequestIdentityKeyError {
  return new RequestIdentityKeyError(`cannot read the request identity key file '${path}': ${(e as Error).message}`, { cause: e });
}
