import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { DeploymentSchema } from "../schema/schema.ts";

/** What the attempt hears from one request/response exchange with a deployment. */
export interface ExchangeListener {
  /** `server`: the deployment's `x-restate-server` header (e.g. `restate-sdk-typescript/1.17.2`). */
  onResponse(status: number, server: string | undefined): void;
  onData(chunk: Buffer): void;
  /** The response body ended. */
  onEnd(): void;
  onError(e: Error): void;
  /** The exchange is gone (after `onEnd`, or cut short); `detail` says how. */
  onClose(detail: string): void;
}

/**
 * One invocation request to a deployment: its body is written while the response is read (a
 * bidirectional deployment), or written whole and ended before the answer (request/response).
 */
export interface Exchange {
  write(chunk: Buffer): void;
  /** Ends the request body; a bidirectional SDK takes it as "suspend when you must wait". */
  endRequest(): void;
  /** Whether the request body can still be written. */
  readonly requestOpen: boolean;
  /** Drops the exchange (a reset on HTTP/2, a closed socket on HTTP/1.1). */
  abort(): void;
}

/**
 * Connections to deployments: one HTTP/2 session per origin shared by every invocation stream to
 * it (dropped when it closes or errors, reopened by the next request), and keep-alive HTTP/1.1
 * connections for deployments registered over HTTP/1.1.
 */
export class DeploymentClient {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  /** Opens `path` (below the deployment's URL) with `headers`; failures to even start are thrown. */
  open(deployment: DeploymentSchema, path: string, headers: Readonly<Record<string, string>>, listener: ExchangeListener): Exchange {
    const url = new URL(deployment.uri);
    const fullPath = `${url.pathname.replace(/\/$/, "")}${path}`;
    return deployment.httpVersion === "HTTP/1.1" ? this.openHttp1(url, fullPath, headers, listener) : this.openHttp2(url.origin, fullPath, headers, listener);
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private openHttp2(origin: string, path: string, headers: Readonly<Record<string, string>>, l: ExchangeListener): Exchange {
    const stream = this.session(origin).request({ ":method": "POST", ":path": path, ...headers });
    stream.on("response", (h) => l.onResponse(Number(h[":status"]), headerText(h["x-restate-server"])));
    stream.on("data", (chunk: Buffer) => l.onData(chunk));
    stream.on("end", () => l.onEnd());
    stream.on("error", (e) => l.onError(e));
    stream.on("close", () => l.onClose(`stream closed (code ${stream.rstCode})`));
    return {
      write: (chunk) => void stream.write(chunk),
      endRequest: () => void stream.end(),
      get requestOpen() {
        return !stream.writableEnded && !stream.destroyed;
      },
      abort: () => {
        if (!stream.destroyed) stream.close();
      },
    };
  }

  private openHttp1(url: URL, path: string, headers: Readonly<Record<string, string>>, l: ExchangeListener): Exchange {
    const secure = url.protocol === "https:";
    const req = (secure ? https : http).request({
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      method: "POST",
      path,
      headers,
      agent: secure ? this.httpsAgent : this.httpAgent,
    });
    let responseEnded = false;
    req.on("response", (res) => {
      l.onResponse(res.statusCode ?? 0, headerText(res.headers["x-restate-server"]));
      res.on("data", (chunk: Buffer) => l.onData(chunk));
      res.on("end", () => {
        responseEnded = true;
        l.onEnd();
      });
      res.on("error", (e) => l.onError(e));
      res.on("close", () => l.onClose(responseEnded ? "response ended" : "connection closed before the response ended"));
    });
    req.on("error", (e) => l.onError(e));
    req.on("close", () => {
      if (!responseEnded) l.onClose("connection closed");
    });
    // A bidirectional deployment answers before the body ends: send the request line and headers now.
    req.flushHeaders();
    return {
      write: (chunk) => void req.write(chunk),
      endRequest: () => void req.end(),
      get requestOpen() {
        return !req.writableEnded && !req.destroyed;
      },
      abort: () => {
        // A finished exchange leaves its connection to the keep-alive pool.
        if (!(responseEnded && req.writableEnded) && !req.destroyed) req.destroy(new Error(`exchange with ${url.origin} aborted`));
      },
    };
  }

  private session(origin: string): http2.ClientHttp2Session {
    const existing = this.sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(origin);
    s.setMaxListeners(0);
    const drop = () => {
      if (this.sessions.get(origin) === s) this.sessions.delete(origin);
    };
    s.on("close", drop);
    s.on("goaway", drop);
    // Stream-level handlers report failures to their invocation; a session error only retires it.
    s.on("error", drop);
    s.unref();
    this.sessions.set(origin, s);
    return s;
  }
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
