import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { RepriseError, errorMessage } from "../types/errors.ts";
import { ManifestValidationError, parseEndpointManifest, type EndpointManifest } from "./manifest.ts";
import type { RequestIdentity } from "./request-identity.ts";

export type {
  EndpointManifest,
  HandlerManifest,
  HandlerType,
  InputPayload,
  InvocationOptions,
  OutputPayload,
  ProtocolMode,
  RetryPolicyOnMaxAttempts,
  ServiceManifest,
  ServiceType,
} from "./manifest.ts";

/** Service protocol versions this server speaks. */
export const MIN_SERVICE_PROTOCOL_VERSION = 5;
export const MAX_SERVICE_PROTOCOL_VERSION = 7;

const MANIFEST_CONTENT_TYPES: ReadonlyMap<string, 2 | 3 | 4> = new Map([
  ["application/vnd.restate.endpointmanifest.v4+json", 4],
  ["application/vnd.restate.endpointmanifest.v3+json", 3],
  ["application/vnd.restate.endpointmanifest.v2+json", 2],
]);
const ACCEPT = [...MANIFEST_CONTENT_TYPES.keys()].join(", ");

/** Manifests carry JSON schemas for every handler; this is far above any real one. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export type DiscoveryErrorCode =
  | "invalid_deployment_url"
  | "deployment_unreachable"
  | "not_a_restate_endpoint"
  | "discovery_failed"
  | "invalid_manifest"
  | "unsupported_protocol";

/**
 * Registering a deployment failed. All cases are about the URL the client gave (so 400); the
 * network-level ones and 5xx/408/429 answers are retryable.
 */
export class DiscoveryError extends RepriseError {
  constructor(
    override readonly code: DiscoveryErrorCode,
    readonly url: string,
    message: string,
    opts: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, opts.retryable ?? false, 400, opts.cause === undefined ? undefined : { cause: opts.cause });
  }
}

export interface DiscoveryOptions {
  /** Budget for the whole exchange, HTTP/1.1 fallback included. */
  readonly timeoutMs: number;
  /** Extra request headers (e.g. auth) also meant for invocations. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Ask over HTTP/1.1 only (Restate's `use_http_11`), for servers that cannot take HTTP/2 prior knowledge. */
  readonly useHttp11?: boolean;
  /** Signs the request, as every request to a deployment is. */
  readonly identity?: RequestIdentity;
}

export interface DiscoveryResult {
  readonly manifest: EndpointManifest;
  readonly manifestVersion: 2 | 3 | 4;
  /** Service protocol version to use for invocations: min(maxProtocolVersion, 7). */
  readonly protocolVersion: number;
  /** From `x-restate-server`, e.g. `restate-sdk-typescript/1.17.2`. */
  readonly sdkVersion?: string;
  /** "1.1" when asked for (`useHttp11`) or when the endpoint refused HTTP/2. */
  readonly httpVersion: "2" | "1.1";
}

/**
 * GETs `<url>/discover` (h2c / h2 first, HTTP/1.1 if the peer does not speak HTTP/2), validates the
 * manifest and picks the service protocol version. Throws `DiscoveryError` naming the URL and the cause.
 */
export async function discoverEndpoint(url: string, opts: DiscoveryOptions): Promise<DiscoveryResult> {
  const target = parseUrl(url);
  const deadline = Date.now() + opts.timeoutMs;
  const headers = { ...lowercaseKeys(opts.headers ?? {}), ...opts.identity?.headers("/discover"), accept: ACCEPT };

  if (opts.useHttp11) {
    try {
      return interpret(url, await getHttp1(target, headers, deadline), "1.1");
    } catch (e) {
      if (e instanceof DiscoveryError) throw e;
      throw toDiscoveryError(url, e, "over HTTP/1.1");
    }
  }
  let response: RawResponse;
  let httpVersion: "2" | "1.1" = "2";
  try {
    response = await getHttp2(target, headers, deadline);
  } catch (h2Error) {
    if (!(h2Error instanceof TransportError) || !h2Error.connected) throw toDiscoveryError(url, h2Error);
    // Connected, but the HTTP/2 exchange failed: most likely an HTTP/1.1-only server.
    try {
      response = await getHttp1(target, headers, deadline);
      httpVersion = "1.1";
    } catch (h1Error) {
      throw toDiscoveryError(url, h1Error, `HTTP/2 failed (${errorMessage(h2Error)}), HTTP/1.1 fallback failed`);
    }
  }
  return interpret(url, response, httpVersion);
}

/** Service protocol version to use with an endpoint advertising [min, max], or an `unsupported_protocol` error. */
export function negotiateProtocolVersion(url: string, manifest: Pick<EndpointManifest, "minProtocolVersion" | "maxProtocolVersion">): number {
  const { minProtocolVersion: min, maxProtocolVersion: max } = manifest;
  if (max < MIN_SERVICE_PROTOCOL_VERSION || min > MAX_SERVICE_PROTOCOL_VERSION) {
    throw new DiscoveryError(
      "unsupported_protocol",
      url,
      `deployment ${url} supports service protocol versions [${min}, ${max}], but this server supports [${MIN_SERVICE_PROTOCOL_VERSION}, ${MAX_SERVICE_PROTOCOL_VERSION}]; use an SDK release that speaks one of these`,
    );
  }
  return Math.min(max, MAX_SERVICE_PROTOCOL_VERSION);
}

function interpret(url: string, res: RawResponse, httpVersion: "2" | "1.1"): DiscoveryResult {
  const body = res.body.toString("utf8");
  if (res.status === 404) {
    throw new DiscoveryError(
      "not_a_restate_endpoint",
      url,
      `deployment ${url} answered GET /discover with HTTP 404 (${snippet(body)}); check that the URL points at the path where the Restate SDK endpoint is served`,
    );
  }
  if (res.status !== 200) {
    throw new DiscoveryError("discovery_failed", url, `deployment ${url} answered GET /discover with HTTP ${res.status}: ${snippet(body)}`, {
      retryable: res.status >= 500 || res.status === 408 || res.status === 429,
    });
  }
  const mediaType = (res.contentType ?? "").split(";")[0].trim().toLowerCase();
  const manifestVersion = MANIFEST_CONTENT_TYPES.get(mediaType);
  if (manifestVersion === undefined) {
    throw new DiscoveryError(
      "not_a_restate_endpoint",
      url,
      `deployment ${url} answered GET /discover with content-type ${JSON.stringify(res.contentType ?? "")}, not an endpoint manifest (${ACCEPT}): ${snippet(body)}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw new DiscoveryError("not_a_restate_endpoint", url, `deployment ${url} sent a discovery response that is not JSON (${errorMessage(e)}): ${snippet(body)}`, { cause: e });
  }
  let manifest: EndpointManifest;
  try {
    manifest = parseEndpointManifest(json);
  } catch (e) {
    if (!(e instanceof ManifestValidationError)) throw e;
    throw new DiscoveryError("invalid_manifest", url, `deployment ${url} sent an invalid endpoint manifest: ${e.message}`, { cause: e });
  }
  return {
    manifest,
    manifestVersion,
    protocolVersion: negotiateProtocolVersion(url, manifest),
    httpVersion,
    ...(res.server ? { sdkVersion: res.server } : {}),
  };
}

// --- transport

interface RawResponse {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly server: string | undefined;
  readonly body: Buffer;
}

/** A failed HTTP exchange; `connected` is false when no TCP/TLS connection was made. */
class TransportError extends Error {
  constructor(
    message: string,
    readonly kind: "timeout" | "connect" | "exchange",
    readonly connected: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Body larger than MAX_MANIFEST_BYTES: the peer answered, so no transport fallback. */
class OversizeBodyError extends Error {}

const CONNECT_ERROR_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EADDRNOTAVAIL"]);

function transportError(e: unknown, connected: boolean): TransportError {
  // http2 reports a refused connection on the stream as a cancel "caused by" the socket error.
  const cause = (e as { cause?: unknown }).cause;
  const connectFailure = [e, cause].find((x) => CONNECT_ERROR_CODES.has(String((x as { code?: unknown } | undefined)?.code)));
  if (!connected && connectFailure) return new TransportError(errorMessage(connectFailure), "connect", false, { cause: e });
  return new TransportError(errorMessage(e), "exchange", connected, { cause: e });
}

function getHttp2(target: URL, headers: Record<string, string>, deadline: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let connected = false;
    let settled = false;
    const session = http2.connect(target.origin);
    const finish = (err: Error | null, res?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const budget = Math.max(0, deadline - Date.now());
    const timer = setTimeout(() => finish(new TransportError(`no answer within ${budget}ms`, "timeout", false)), budget);
    session.on("connect", () => (connected = true));
    session.on("error", (e) => finish(transportError(e, connected)));
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ":method": "GET", ":path": discoverPath(target), ...headers }, { endStream: true });
    } catch (e) {
      finish(new TransportError(`cannot send request: ${errorMessage(e)}`, "exchange", false, { cause: e }));
      return;
    }
    stream.on("error", (e) => finish(transportError(e, connected)));
    let responded = false;
    stream.on("response", (h) => {
      responded = true;
      readBody(stream)
        .then((body) =>
          finish(null, { status: Number(h[":status"]), contentType: single(h["content-type"]), server: single(h["x-restate-server"]), body }),
        )
        .catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    });
    // After a response, readBody reports a cut-short body itself.
    stream.on("close", () => {
      if (!responded) finish(new TransportError(`stream closed before a response (code ${stream.rstCode})`, "exchange", connected));
    });
  });
}

function getHttp1(target: URL, headers: Record<string, string>, deadline: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | null, res?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    const get = target.protocol === "https:" ? https.get : http.get;
    const req = get(new URL(discoverPath(target), target.origin), { headers, agent: false }, (res) => {
      readBody(res)
        .then((body) =>
          finish(null, { status: res.statusCode ?? 0, contentType: res.headers["content-type"], server: single(res.headers["x-restate-server"]), body }),
        )
        .catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
    });
    const budget = Math.max(0, deadline - Date.now());
    const timer = setTimeout(() => finish(new TransportError(`no answer over HTTP/1.1 within the remaining ${budget}ms`, "timeout", false)), budget);
    req.on("error", (e) => finish(transportError(e, req.socket !== null && !req.socket.connecting)));
  });
}

async function readBody(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += c.length;
    if (size > MAX_MANIFEST_BYTES) throw new OversizeBodyError(`discovery response exceeds ${MAX_MANIFEST_BYTES} bytes`);
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

function toDiscoveryError(url: string, e: unknown, prefix?: string): DiscoveryError {
  const what = prefix ? `${prefix}: ${errorMessage(e)}` : errorMessage(e);
  if (e instanceof OversizeBodyError) return new DiscoveryError("invalid_manifest", url, `deployment ${url}: ${what}`);
  if (e instanceof TransportError) {
    const verb = e.kind === "timeout" ? "did not answer discovery in time" : e.kind === "connect" ? "is unreachable" : "failed during discovery";
    return new DiscoveryError("deployment_unreachable", url, `deployment ${url} ${verb}: ${what}`, { retryable: true, cause: e });
  }
  return new DiscoveryError("deployment_unreachable", url, `deployment ${url} failed during discovery: ${what}`, { retryable: true, cause: e });
}

function parseUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DiscoveryError("invalid_deployment_url", url, `deployment URL ${JSON.stringify(url)} is not a valid URL`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    throw new DiscoveryError("invalid_deployment_url", url, `deployment URL ${url} must use http or https (got ${u.protocol})`);
  }
  return u;
}

/** The SDK endpoint may be mounted under a path prefix: `http://host/prefix` → `/prefix/discover`. */
function discoverPath(u: URL): string {
  return `${u.pathname.replace(/\/+$/, "")}/discover`;
}

function lowercaseKeys(h: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function snippet(body: string): string {
  const t = body.trim();
  if (!t) return "(empty body)";
  return t.length > 300 ? `${t.slice(0, 300)}…` : t;
}
