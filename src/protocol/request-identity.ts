import { createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";
import { base58Encode } from "../common/base58.ts";
import { RepriseError } from "../types/errors.ts";

/**
 * Restate's request identity, scheme v1: every request to a deployment carries a JWT signed with
 * the server's Ed25519 key, so an SDK configured with the matching `publickeyv1_<base58>` key
 * (`identityKeys`) can refuse callers that are not this server. The audience is the request path
 * relative to the deployment (`/discover`, `/invoke/<service>/<handler>`), the subject the object
 * or workflow key; the token is valid from `leeway` before to `leeway` after it was made.
 */
export const SIGNATURE_SCHEME_HEADER = "x-restate-signature-scheme";
export const JWT_HEADER = "x-restate-jwt-v1";

/** Tokens kept for reuse, by audience and subject; beyond this many the oldest is dropped. */
const REUSED_TOKENS = 4096;

export class RequestIdentityKeyError extends RepriseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("request_identity_key_invalid", message, false, 400, options);
  }
}

export class RequestIdentity {
  /** `publickeyv1_` and the base58 raw public key: what an SDK's `identityKeys` lists. */
  readonly publicKey: string;
  private readonly header: string;
  /** Headers signed recently, by audience and subject, with when they were made (ms). */
  private readonly signed = new Map<string, { readonly madeAtMs: number; readonly headers: Readonly<Record<string, string>> }>();

  private constructor(
    private readonly key: KeyObject,
    private readonly leewaySeconds: number,
  ) {
    const raw = Buffer.from(createPublicKey(key).export({ format: "jwk" }).x ?? "", "base64url");
    this.publicKey = `publickeyv1_${base58Encode(raw)}`;
    this.header = base64url(JSON.stringify({ typ: "JWT", alg: "EdDSA", kid: this.publicKey }));
  }

  /** From a PKCS#8 PEM holding exactly one Ed25519 private key (e.g. `openssl genpkey -algorithm ed25519`). */
  static fromPem(pem: string, source: string, leewaySeconds = 60): RequestIdentity {
    const blocks = pem.match(/-----BEGIN [A-Z ]+-----/g) ?? [];
    if (blocks.length !== 1) throw new RequestIdentityKeyError(`${source}: exactly one private key in PEM format is expected, found ${blocks.length}`);
    let key: KeyObject;
    try {
      key = createPrivateKey(pem);
    } catch (e) {
      throw new RequestIdentityKeyError(`${source}: not a readable private key: ${(e as Error).message}`, { cause: e });
    }
    if (key.asymmetricKeyType !== "ed25519") {
      throw new RequestIdentityKeyError(`${source}: the request identity key must be an Ed25519 key, found ${key.asymmetricKeyType ?? "an unknown key type"}`);
    }
    return new RequestIdentity(key, leewaySeconds);
  }

  /**
   * The two headers that sign a request to `path` (relative to the deployment's URL). A token made
   * less than half the leeway ago is handed out again: it stays valid for at least the other half,
   * and an Ed25519 signature per attempt was the largest single cost of starting one.
   */
  headers(path: string, subject?: string, nowMs = Date.now()): Readonly<Record<string, string>> {
    const key = subject === undefined ? path : `${path}\u0000${subject}`;
    const reusable = this.signed.get(key);
    if (reusable !== undefined && nowMs >= reusable.madeAtMs && nowMs - reusable.madeAtMs < (this.leewaySeconds * 1000) / 2) return reusable.headers;
    const headers = this.sign(path, subject, nowMs);
    this.signed.delete(key);
    if (this.signed.size >= REUSED_TOKENS) this.signed.delete(this.signed.keys().next().value!);
    this.signed.set(key, { madeAtMs: nowMs, headers });
    return headers;
  }

  private sign(path: string, subject: string | undefined, nowMs: number): Readonly<Record<string, string>> {
    const now = Math.floor(nowMs / 1000);
    const claims = {
      aud: path,
      exp: now + this.leewaySeconds,
      iat: now,
      nbf: Math.max(0, now - this.leewaySeconds),
      ...(subject !== undefined ? { sub: subject } : {}),
    };
    const signingInput = `${this.header}.${base64url(JSON.stringify(claims))}`;
    const signature = sign(null, Buffer.from(signingInput), this.key).toString("base64url");
    return Object.freeze({ [SIGNATURE_SCHEME_HEADER]: "v1", [JWT_HEADER]: `${signingInput}.${signature}` });
  }
}

function base64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}
