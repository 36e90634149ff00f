import type { IncomingMessage, ServerResponse } from "node:http";
import { PayloadTooLargeError, RepriseError } from "../types/errors.ts";

/** Reads the whole request body, refusing (413) as soon as it exceeds `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) {
    req.resume();
    throw new PayloadTooLargeError(`request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw new PayloadTooLargeError(`request body exceeds the limit of ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "content-type": "application/json", "content-length": payload.length, ...headers });
  res.end(payload);
}

/** Maps any error to `{code, message}` JSON; unexpected errors become 500 without leaking internals. */
export function sendError(res: ServerResponse, e: unknown, extra: Record<string, unknown> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (e instanceof RepriseError) {
    sendJson(res, e.httpStatus, { code: e.httpStatus, message: e.message, error_code: e.code, ...extra });
    return;
  }
  sendJson(res, 500, { code: 500, message: `internal error: ${e instanceof Error ? e.message : String(e)}`, ...extra });
}

/**
 * Parses a duration as ISO-8601 (`PT10S`, `P1DT2H`) or in the friendly format Restate reads and
 * prints (`10s`, `500ms`, `1m30s`, `5 hours`, `1 day, 2h`), in ms.
 */
export function parseDuration(text: string): number | null {
  const iso = /^P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(text);
  if (iso && text.length > 1 && !/T$/i.test(text)) {
    const [, d, h, m, s] = iso.map((x) => (x === undefined ? 0 : Number(x)));
    return Math.round((((d * 24 + h) * 60 + m) * 60 + s) * 1000);
  }
  const parts = [...text.matchAll(FRIENDLY_PART)];
  const unseparated = (t: string) => t.replace(/[\s,]/g, "");
  if (parts.length === 0 || unseparated(parts.map((p) => p[0]).join("")) !== unseparated(text)) return null;
  return Math.round(parts.reduce((acc, p) => acc + Number(p[1]) * FRIENDLY_UNITS[unitOf(p[2]!)], 0));
}

const FRIENDLY_UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
/** Longer spellings first, so `ms` is not read as minutes and `min` not as `m` + garbage. */
const FRIENDLY_PART = /(\d+(?:\.\d+)?)\s*(milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)(?![a-z])/gi;

function unitOf(spelling: string): keyof typeof FRIENDLY_UNITS {
  const s = spelling.toLowerCase();
  if (s === "ms" || s.startsWith("msec") || s.startsWith("milli")) return "ms";
  return s[0] as "s" | "m" | "h" | "d" | "w";
}
