import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * CORS as restate-server 1.7 answers it (tower-http's "very permissive" layer: the request's
 * origin, method and headers mirrored back, credentials allowed), limited to the configured
 * origins. `*` allows every origin, which is Restate's behaviour and the default.
 */
export class CorsPolicy {
  private readonly anyOrigin: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(allowedOrigins: readonly string[]) {
    this.anyOrigin = allowedOrigins.includes("*");
    this.origins = new Set(allowedOrigins.filter((o) => o !== "*").map((o) => new URL(o).origin));
  }

  /** Headers every response carries, set before any route writes its head. */
  decorate(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader("vary", "origin,access-control-request-method,access-control-request-headers");
    res.setHeader("access-control-allow-credentials", "true");
    const origin = req.headers.origin;
    if (origin !== undefined && (this.anyOrigin || this.origins.has(origin))) res.setHeader("access-control-allow-origin", origin);
  }

  /** Every OPTIONS request is a preflight: answered here, empty, with what it asked for mirrored. */
  answerPreflight(req: IncomingMessage, res: ServerResponse): void {
    this.decorate(req, res);
    const method = req.headers["access-control-request-method"];
    const headers = req.headers["access-control-request-headers"];
    if (method !== undefined) res.setHeader("access-control-allow-methods", method);
    if (headers !== undefined) res.setHeader("access-control-allow-headers", headers);
    res.writeHead(200, { "content-length": 0 }).end();
  }
}

/** Checks one `ingress.cors_allowed_origins` entry: `*` or `scheme://host[:port]`; returns why not, or null. */
export function corsOriginProblem(entry: string): string | null {
  if (entry === "*") return null;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return `'${entry}' is neither '*' nor an origin such as https://app.example.com`;
  }
  const onlyOrigin = url.pathname === "/" && !entry.endsWith("/") && url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  if (url.origin === "null" || !onlyOrigin) {
    return `'${entry}' is not an origin: give scheme://host[:port] only, without path, query or credentials`;
  }
  return null;
}
